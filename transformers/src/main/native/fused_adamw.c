/*
 * spark-bert: one fused AdamW step over a float32 parameter on the CPU.
 *
 * torch.optim.AdamW's update written with NDArray operations costs a dozen passes over memory
 * and, through DJL, a temporary the size of the parameter for most of them (the word-embedding
 * table is 47 MB; libtorch takes such blocks fresh from the kernel and pays a page fault per
 * 4 KiB). This loop reads the gradient, the parameter and both moments once, writes the
 * parameter and the moments back, and zeroes the gradient for the next backward pass, so the
 * step allocates nothing and touches each array once.
 *
 * The arithmetic is torch's single-tensor AdamW, element by element, in float32:
 *   g = g * grad_scale                      (global-norm clipping, as clip_grad_norm_)
 *   p = p * decay                           (decay = 1 - lr * weight_decay)
 *   m = m + (1 - b1) * (g - m)              (lerp_)
 *   v = v * b2 + (1 - b2) * g * g           (mul_, addcmul_)
 *   p = p - step_size * m / (sqrt(v) / bc2_sqrt + eps)
 * with 1 - b1, 1 - b2, step_size = lr / (1 - b1^t) and bc2_sqrt = sqrt(1 - b2^t) computed by
 * the caller in double, as torch computes them in Python. Built with -ffp-contract=off, so no
 * fused multiply-add changes the rounding between builds. Large parameters are cut into one slice
 * per thread (the trainer's libtorch thread count, given by the caller); every element is computed
 * alone, so the result is the same bit for bit whatever the thread count.
 *
 * Built by src/main/native/build.sh; called by io.sparkbert.bert.train.FusedAdamW.
 */
#include <jni.h>
#include <math.h>
#include <pthread.h>
#include <stddef.h>

/* Below this many floats a second thread costs more than it saves (the loop moves ~20 bytes per
 * float; creating and joining a thread takes tens of microseconds). */
#define MIN_FLOATS_PER_THREAD (1 << 18)
#define MAX_THREADS 16

static void adamw(float *restrict p, float *restrict g, float *restrict m, float *restrict v,
                  size_t n, float grad_scale, float decay, float b2, float one_minus_b1,
                  float one_minus_b2, float step_size, float bc2_sqrt, float eps) {
    for (size_t i = 0; i < n; i++) {
        float gi = g[i] * grad_scale;
        float mi = m[i] + one_minus_b1 * (gi - m[i]);
        float vi = v[i] * b2 + one_minus_b2 * gi * gi;
        float denom = sqrtf(vi) / bc2_sqrt + eps;
        p[i] = p[i] * decay - step_size * (mi / denom);
        m[i] = mi;
        v[i] = vi;
        g[i] = 0.0f;
    }
}

struct slice {
    float *p, *g, *m, *v;
    size_t n;
    float grad_scale, decay, b2, one_minus_b1, one_minus_b2, step_size, bc2_sqrt, eps;
};

static void *run_slice(void *arg) {
    struct slice *s = arg;
    adamw(s->p, s->g, s->m, s->v, s->n, s->grad_scale, s->decay, s->b2, s->one_minus_b1,
          s->one_minus_b2, s->step_size, s->bc2_sqrt, s->eps);
    return NULL;
}

/* The step over n floats on up to `threads` threads: slice 0 on the calling thread, the others
 * on threads of their own; a thread that cannot be started has its slice run here instead. */
static void adamw_parallel(struct slice all, int threads) {
    size_t parts = all.n / MIN_FLOATS_PER_THREAD;
    if (threads > MAX_THREADS) {
        threads = MAX_THREADS;
    }
    if (parts > (size_t)threads) {
        parts = (size_t)threads;
    }
    if (parts < 2) {
        run_slice(&all);
        return;
    }
    struct slice s[MAX_THREADS];
    pthread_t tid[MAX_THREADS];
    int started[MAX_THREADS] = {0};
    size_t per = (all.n / parts + 15) & ~(size_t)15; /* 64-byte aligned slice starts */
    for (size_t k = 0; k < parts; k++) {
        size_t from = k * per < all.n ? k * per : all.n;
        size_t to = (k + 1) * per < all.n && k + 1 < parts ? (k + 1) * per : all.n;
        s[k] = all;
        s[k].p = all.p + from;
        s[k].g = all.g + from;
        s[k].m = all.m + from;
        s[k].v = all.v + from;
        s[k].n = to - from;
    }
    for (size_t k = 1; k < parts; k++) {
        started[k] = pthread_create(&tid[k], NULL, run_slice, &s[k]) == 0;
    }
    run_slice(&s[0]);
    for (size_t k = 1; k < parts; k++) {
        if (started[k]) {
            pthread_join(tid[k], NULL);
        } else {
            run_slice(&s[k]);
        }
    }
}

JNIEXPORT jboolean JNICALL Java_io_sparkbert_bert_train_FusedAdamW_update(
    JNIEnv *env, jclass cls, jobject param, jobject grad, jobject exp_avg, jobject exp_avg_sq,
    jlong n, jfloat grad_scale, jfloat decay, jfloat beta2, jfloat one_minus_beta1,
    jfloat one_minus_beta2, jfloat step_size, jfloat bc2_sqrt, jfloat eps, jint threads) {
    (void)cls;
    float *p = (*env)->GetDirectBufferAddress(env, param);
    float *g = (*env)->GetDirectBufferAddress(env, grad);
    float *m = (*env)->GetDirectBufferAddress(env, exp_avg);
    float *v = (*env)->GetDirectBufferAddress(env, exp_avg_sq);
    jlong need = n * (jlong)sizeof(float);
    if (p == NULL || g == NULL || m == NULL || v == NULL || n < 0 ||
        (*env)->GetDirectBufferCapacity(env, param) < need ||
        (*env)->GetDirectBufferCapacity(env, grad) < need ||
        (*env)->GetDirectBufferCapacity(env, exp_avg) < need ||
        (*env)->GetDirectBufferCapacity(env, exp_avg_sq) < need) {
        return JNI_FALSE;
    }
    struct slice all = {p, g, m, v, (size_t)n, grad_scale, decay, beta2, one_minus_beta1,
                        one_minus_beta2, step_size, bc2_sqrt, eps};
    adamw_parallel(all, threads);
    return JNI_TRUE;
}
