/*
 * spark-bert: lets Intel MKL use its AVX2 / AVX-512 GEMM kernels on AMD processors.
 *
 * libtorch's CPU build links MKL statically. MKL first asks whether the processor is an
 * Intel one (mkl_serv_intel_cpu_true) and, on any other vendor, takes generic kernels
 * without looking at the instruction set; on an AVX-512 AMD EPYC that halves the speed of
 * every fp32 linear layer. libtorch exports that function and calls it through its PLT, so
 * a definition found earlier in the process's global symbol scope is the one that runs.
 *
 * The JVM opens this library with RTLD_LOCAL, which keeps its symbols out of the global
 * scope; the constructor below re-opens it with RTLD_NOLOAD | RTLD_GLOBAL. It has to be
 * loaded before libtorch's first GEMM, because MKL remembers the answer.
 *
 * Built by src/main/native/build.sh; loaded by io.sparkbert.bert.MklDispatch.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <jni.h>

static volatile long vendor_checks = 0;
static int global_scope = 0;

/* The instruction-set checks that follow in MKL still decide between SSE, AVX2 and AVX-512. */
int mkl_serv_intel_cpu_true(void) {
    __atomic_add_fetch(&vendor_checks, 1, __ATOMIC_RELAXED);
    return 1;
}

__attribute__((constructor)) static void enter_global_scope(void) {
    Dl_info self;
    if (dladdr((void *)&mkl_serv_intel_cpu_true, &self) != 0 && self.dli_fname != NULL) {
        global_scope = dlopen(self.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_GLOBAL) != NULL;
    }
}

JNIEXPORT jboolean JNICALL Java_io_sparkbert_bert_MklDispatch_inGlobalScope(JNIEnv *env,
                                                                          jclass cls) {
    (void)env;
    (void)cls;
    return global_scope ? JNI_TRUE : JNI_FALSE;
}

JNIEXPORT jlong JNICALL Java_io_sparkbert_bert_MklDispatch_vendorChecks(JNIEnv *env,
                                                                       jclass cls) {
    (void)env;
    (void)cls;
    return (jlong)__atomic_load_n(&vendor_checks, __ATOMIC_RELAXED);
}
