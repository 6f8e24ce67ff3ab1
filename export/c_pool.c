/* Pooling (reference/integer_ops/pooling.h MaxPool, AveragePool) and the mean over height and width
 * (reference/reduce.h QuantizedMeanOrSum: GlobalAveragePooling2D), over the window's values inside the
 * image, per channel. Max and average keep the input's quantization; the mean requantizes its sum. */
enum pool_kind { POOL_MAX, POOL_AVERAGE, POOL_MEAN };

struct pool {
    int32_t kind, in_h, in_w, channels, out_h, out_w, filter_h, filter_w, stride_h, stride_w, pad_h, pad_w;
    int32_t activation_min, activation_max;
    int32_t multiplier, shift, input_zero_point, output_zero_point; /* POOL_MEAN only */
};

/* The int8 result of one window: its largest offset value, or the sum of its `count` offset values. */
static int32_t pooled(const struct pool *p, int32_t value, int32_t count)
{
    int32_t q, sum = value - 128 * count; /* of the int8 values q = u - 128 */
    if (p->kind == POOL_MAX)
        q = value - 128;
    else if (p->kind == POOL_AVERAGE) /* rounded half away from zero */
        q = sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
    else
        q = requantize(sum - p->input_zero_point * count, p->multiplier, p->shift) + p->output_zero_point;
    q = q < p->activation_min ? p->activation_min : q;
    return q > p->activation_max ? p->activation_max : q;
}

/* `sums`: channels int32 of scratch. */
static void pool_layer(const struct pool *p, const uint8_t *in, uint8_t *out, uint8_t *sums)
{
    const int32_t in_h = p->in_h, in_w = p->in_w, channels = p->channels, is_max = p->kind == POOL_MAX;
    int32_t *values = (int32_t *)(void *)sums, oy, ox, c, y, x;
    for (oy = 0; oy < p->out_h; oy++) {
        int32_t y0 = oy * p->stride_h - p->pad_h; /* the window, clipped to the image */
        int32_t y_start = y0 < 0 ? 0 : y0, y_end = y0 + p->filter_h < in_h ? y0 + p->filter_h : in_h;
        for (ox = 0; ox < p->out_w; ox++, out += channels) {
            int32_t x0 = ox * p->stride_w - p->pad_w;
            int32_t x_start = x0 < 0 ? 0 : x0, x_end = x0 + p->filter_w < in_w ? x0 + p->filter_w : in_w;
            int32_t count = (y_end - y_start) * (x_end - x_start);
            for (c = 0; c < channels; c++)
                values[c] = 0;
            for (y = y_start; y < y_end; y++)
                for (x = x_start; x < x_end; x++) {
                    const uint8_t *u = in + (y * in_w + x) * channels;
                    if (is_max)
                        for (c = 0; c < channels; c++)
                            values[c] = u[c] > values[c] ? u[c] : values[c];
                    else
                        for (c = 0; c < channels; c++)
                            values[c] += u[c];
                }
            for (c = 0; c < channels; c++)
                out[c] = (uint8_t)(pooled(p, values[c], count) + 128);
        }
    }
}
