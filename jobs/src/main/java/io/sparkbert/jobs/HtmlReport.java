package io.sparkbert.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Renders an {@link Evaluation} as one self-contained HTML page: no scripts, fonts or links to
 * fetch; the plots are inline SVG (confusion matrix, ROC curve for two classes, probability
 * histogram, and the training loss curve when the training {@code metrics.json} is given).
 *
 * <p>Stateless and thread-safe.
 */
final class HtmlReport {
    private static final int W = 460;
    private static final int H = 340;
    private static final int PAD_L = 60;
    private static final int PAD_R = 20;
    private static final int PAD_T = 30;
    private static final int PAD_B = 50;
    private static final String[] COLORS = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"};

    private HtmlReport() {}

    /**
     * The page.
     *
     * @param title page heading
     * @param model what was evaluated
     * @param input the evaluation data
     * @param e the metrics
     * @param training the model's training {@code metrics.json}, or null
     */
    static String render(
            String title, String model, String input, Evaluation e, JsonNode training) {
        StringBuilder sb = new StringBuilder();
        sb.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
                .append("<title>")
                .append(esc(title))
                .append("</title><style>")
                .append("body{font-family:sans-serif;margin:24px;color:#222;max-width:1000px}")
                .append("table{border-collapse:collapse;margin:8px 0}")
                .append("td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}")
                .append("th{background:#f3f3f3}td.l,th.l{text-align:left}")
                .append(".plots{display:flex;flex-wrap:wrap;gap:16px}")
                .append("figure{margin:0;border:1px solid #ddd;padding:6px}")
                .append("figcaption{font-size:13px;color:#555;text-align:center}")
                .append("</style></head><body>\n");
        sb.append("<h1>").append(esc(title)).append("</h1>\n");
        sb.append("<p>Model: <code>")
                .append(esc(model))
                .append("</code><br>Data: <code>")
                .append(esc(input))
                .append("</code> (")
                .append(e.rows())
                .append(" rows)</p>\n");
        sb.append("<table><tr><th class=l>metric</th><th>value</th></tr>");
        row(sb, "accuracy", e.accuracy());
        if (e.labels().size() == 2) {
            row(sb, "ROC AUC", e.rocAuc());
        }
        sb.append("</table>\n");
        sb.append(
                "<table><tr><th class=l>class</th><th>precision</th><th>recall</th><th>F1</th>"
                        + "<th>support</th></tr>");
        for (int c = 0; c < e.labels().size(); c++) {
            sb.append("<tr><td class=l>")
                    .append(esc(e.labels().get(c)))
                    .append("</td><td>")
                    .append(f3(e.precision()[c]))
                    .append("</td><td>")
                    .append(f3(e.recall()[c]))
                    .append("</td><td>")
                    .append(f3(e.f1()[c]))
                    .append("</td><td>")
                    .append(e.support()[c])
                    .append("</td></tr>");
        }
        sb.append("</table>\n<div class=plots>\n");
        figure(sb, "Confusion matrix (rows: true, columns: predicted)", confusionSvg(e));
        if (e.labels().size() == 2) {
            figure(sb, String.format(Locale.ROOT, "ROC curve (AUC %.4f)", e.rocAuc()), rocSvg(e));
        }
        figure(
                sb,
                e.labels().size() == 2
                        ? "Histogram of P(" + e.labels().get(1) + ") by true class"
                        : "Histogram of the top probability by true class",
                histogramSvg(e));
        if (training != null && training.path("steps").size() > 0) {
            figure(sb, "Training loss per step", lossSvg(training.path("steps")));
        }
        sb.append("</div>\n</body></html>\n");
        return sb.toString();
    }

    private static void row(StringBuilder sb, String name, double v) {
        sb.append("<tr><td class=l>")
                .append(name)
                .append("</td><td>")
                .append(f4(v))
                .append("</td></tr>");
    }

    private static void figure(StringBuilder sb, String caption, String svg) {
        sb.append("<figure>")
                .append(svg)
                .append("<figcaption>")
                .append(esc(caption))
                .append("</figcaption></figure>\n");
    }

    /** The confusion matrix as a heat map with counts. */
    static String confusionSvg(Evaluation e) {
        int k = e.labels().size();
        int size = Math.min(300, 70 * k);
        int cell = size / k;
        int left = 110;
        int top = 40;
        int w = left + cell * k + 20;
        int h = top + cell * k + 40;
        long max = 1;
        for (long[] r : e.confusion()) {
            for (long v : r) {
                max = Math.max(max, v);
            }
        }
        StringBuilder s = svgOpen(w, h, "confusion-matrix");
        for (int i = 0; i < k; i++) {
            for (int j = 0; j < k; j++) {
                long v = e.confusion()[i][j];
                double t = (double) v / max;
                int shade = (int) Math.round(255 - 200 * t);
                String fill = String.format(Locale.ROOT, "rgb(%d,%d,255)", shade, shade);
                int x = left + j * cell;
                int y = top + i * cell;
                s.append(
                        String.format(
                                Locale.ROOT,
                                "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\""
                                        + " stroke=\"#999\"/>",
                                x,
                                y,
                                cell,
                                cell,
                                fill));
                s.append(
                        text(
                                x + cell / 2.0,
                                y + cell / 2.0 + 5,
                                Long.toString(v),
                                "middle",
                                t > 0.6 ? "#fff" : "#000",
                                14));
            }
            s.append(
                    text(
                            left - 6,
                            top + i * cell + cell / 2.0 + 4,
                            clip(e.labels().get(i)),
                            "end",
                            "#000",
                            12));
            s.append(
                    text(
                            left + i * cell + cell / 2.0,
                            top - 8,
                            clip(e.labels().get(i)),
                            "middle",
                            "#000",
                            12));
        }
        s.append(
                text(
                        left + cell * k / 2.0,
                        top + cell * k + 28,
                        "predicted",
                        "middle",
                        "#555",
                        12));
        s.append(
                String.format(
                        Locale.ROOT,
                        "<text x=\"16\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#555\""
                                + " font-size=\"12\" transform=\"rotate(-90 16 %.1f)\">true</text>",
                        top + cell * k / 2.0,
                        top + cell * k / 2.0));
        return s.append("</svg>").toString();
    }

    /** The ROC curve with the diagonal. */
    static String rocSvg(Evaluation e) {
        StringBuilder s = svgOpen(W, H, "roc-curve");
        axes(s, 0, 1, 0, 1, "false positive rate", "true positive rate");
        s.append(
                polyline(
                        List.of(new double[] {0, 0}, new double[] {1, 1}),
                        0,
                        1,
                        0,
                        1,
                        "#aaa",
                        "4,4"));
        List<double[]> pts = new ArrayList<>();
        double[][] roc = e.roc();
        int step = Math.max(1, roc.length / 1000);
        for (int i = 0; i < roc.length; i += step) {
            pts.add(roc[i]);
        }
        if (roc.length > 0 && pts.get(pts.size() - 1) != roc[roc.length - 1]) {
            pts.add(roc[roc.length - 1]);
        }
        s.append(polyline(pts, 0, 1, 0, 1, COLORS[0], null));
        return s.append("</svg>").toString();
    }

    /** Probability histograms, one outlined series per true class. */
    static String histogramSvg(Evaluation e) {
        long[][] hist = e.histogram();
        long max = 1;
        for (long[] r : hist) {
            for (long v : r) {
                max = Math.max(max, v);
            }
        }
        StringBuilder s = svgOpen(W, H, "probability-histogram");
        double top = niceTop(max);
        axes(
                s,
                0,
                1,
                0,
                top,
                e.labels().size() == 2 ? "P(" + clip(e.labels().get(1)) + ")" : "top probability",
                "rows");
        int bins = Evaluation.BINS;
        int k = hist.length;
        double pw = W - PAD_L - PAD_R;
        double ph = H - PAD_T - PAD_B;
        double bw = pw / bins / k;
        int legendX = PAD_L + (int) pw / 2 - 45;
        for (int c = 0; c < k; c++) {
            for (int b = 0; b < bins; b++) {
                double hgt = ph * hist[c][b] / top;
                double x = PAD_L + pw * b / bins + bw * c;
                s.append(
                        String.format(
                                Locale.ROOT,
                                "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\""
                                        + " fill-opacity=\"0.75\"/>",
                                x,
                                PAD_T + ph - hgt,
                                bw,
                                hgt,
                                COLORS[c % COLORS.length]));
            }
            s.append(
                    String.format(
                            Locale.ROOT,
                            "<rect x=\"%d\" y=\"%d\" width=\"10\" height=\"10\" fill=\"%s\"/>",
                            legendX,
                            PAD_T + 4 + 16 * c,
                            COLORS[c % COLORS.length]));
            s.append(
                    text(
                            legendX + 16,
                            PAD_T + 13 + 16 * c,
                            "true " + clip(e.labels().get(c)),
                            "start",
                            "#000",
                            12));
        }
        return s.append("</svg>").toString();
    }

    /** The training loss per step. */
    static String lossSvg(JsonNode steps) {
        List<double[]> pts = new ArrayList<>();
        double maxLoss = 0;
        double maxStep = 1;
        for (JsonNode st : steps) {
            double loss = st.path("loss").asDouble();
            double step = st.path("step").asDouble();
            if (Double.isFinite(loss)) {
                pts.add(new double[] {step, loss});
                maxLoss = Math.max(maxLoss, loss);
                maxStep = Math.max(maxStep, step);
            }
        }
        StringBuilder s = svgOpen(W, H, "loss-curve");
        double top = niceTop(maxLoss);
        double right = niceTop(maxStep);
        axes(s, 0, right, 0, top, "step", "loss");
        s.append(polyline(pts, 0, right, 0, top, COLORS[1], null));
        return s.append("</svg>").toString();
    }

    private static StringBuilder svgOpen(int w, int h, String id) {
        return new StringBuilder(
                String.format(
                        Locale.ROOT,
                        "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"%s\" width=\"%d\""
                                + " height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\">",
                        id,
                        w,
                        h,
                        w,
                        h));
    }

    private static void axes(
            StringBuilder s,
            double x0,
            double x1,
            double y0,
            double y1,
            String xLabel,
            String yLabel) {
        int pw = W - PAD_L - PAD_R;
        int ph = H - PAD_T - PAD_B;
        s.append(
                String.format(
                        Locale.ROOT,
                        "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#444\"/>",
                        PAD_L,
                        PAD_T,
                        pw,
                        ph));
        double xs = niceStep(x1 - x0);
        for (int i = 0; x0 + i * xs <= x1 + 1e-9 * xs; i++) {
            double v = x0 + i * xs;
            double fx = PAD_L + pw * (v - x0) / (x1 - x0);
            s.append(
                    String.format(
                            Locale.ROOT,
                            "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#444\"/>",
                            fx,
                            PAD_T + ph,
                            fx,
                            PAD_T + ph + 5));
            s.append(text(fx, PAD_T + ph + 18, tick(v, xs), "middle", "#000", 11));
        }
        double ys = niceStep(y1 - y0);
        for (int i = 0; y0 + i * ys <= y1 + 1e-9 * ys; i++) {
            double v = y0 + i * ys;
            double fy = PAD_T + ph - ph * (v - y0) / (y1 - y0);
            s.append(
                    String.format(
                            Locale.ROOT,
                            "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#444\"/>",
                            PAD_L - 5,
                            fy,
                            PAD_L,
                            fy));
            s.append(text(PAD_L - 8, fy + 4, tick(v, ys), "end", "#000", 11));
        }
        s.append(text(PAD_L + pw / 2.0, H - 10, xLabel, "middle", "#555", 12));
        s.append(
                String.format(
                        Locale.ROOT,
                        "<text x=\"14\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#555\" font-size=\"12\""
                                + " transform=\"rotate(-90 14 %.1f)\">%s</text>",
                        PAD_T + ph / 2.0,
                        PAD_T + ph / 2.0,
                        esc(yLabel)));
    }

    private static String polyline(
            List<double[]> pts,
            double x0,
            double x1,
            double y0,
            double y1,
            String color,
            String dash) {
        int pw = W - PAD_L - PAD_R;
        int ph = H - PAD_T - PAD_B;
        StringBuilder s =
                new StringBuilder("<polyline fill=\"none\" stroke-width=\"2\" stroke=\"")
                        .append(color)
                        .append('"');
        if (dash != null) {
            s.append(" stroke-dasharray=\"").append(dash).append('"');
        }
        s.append(" points=\"");
        for (double[] p : pts) {
            double x = PAD_L + pw * (p[0] - x0) / (x1 - x0);
            double y = PAD_T + ph - ph * (p[1] - y0) / (y1 - y0);
            s.append(String.format(Locale.ROOT, "%.1f,%.1f ", x, y));
        }
        return s.append("\"/>").toString();
    }

    private static String text(
            double x, double y, String t, String anchor, String color, int size) {
        return String.format(
                Locale.ROOT,
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" fill=\"%s\" font-size=\"%d\">%s"
                        + "</text>",
                x,
                y,
                anchor,
                color,
                size,
                esc(t));
    }

    /** A tick label with as many decimals as the step needs. */
    private static String tick(double v, double step) {
        int decimals = step >= 1 ? 0 : (int) Math.ceil(-Math.log10(step) - 1e-9);
        return String.format(Locale.ROOT, "%." + decimals + "f", v);
    }

    /** A step of 1, 2 or 5 times a power of ten giving about five ticks over {@code range}. */
    static double niceStep(double range) {
        if (!(range > 0)) {
            return 1;
        }
        double raw = range / 5;
        double mag = Math.pow(10, Math.floor(Math.log10(raw)));
        double f = raw / mag;
        double nice = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
        return nice * mag;
    }

    /** {@code max} rounded up to a whole number of {@link #niceStep} steps. */
    static double niceTop(double max) {
        if (!(max > 0)) {
            return 1;
        }
        double step = niceStep(max);
        return Math.ceil(max / step - 1e-9) * step;
    }

    private static String clip(String s) {
        return s.length() > 14 ? s.substring(0, 13) + "…" : s;
    }

    private static String f3(double v) {
        return String.format(Locale.ROOT, "%.3f", v);
    }

    private static String f4(double v) {
        return String.format(Locale.ROOT, "%.4f", v);
    }

    static String esc(String s) {
        return s.replace("&", "&amp;")
                .replace("<", "&lt;")
                .replace(">", "&gt;")
                .replace("\"", "&quot;");
    }
}
