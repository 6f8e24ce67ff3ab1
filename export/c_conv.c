/* Convolutions, depthwise ones included (reference/integer_ops/conv.h ConvPerChannel,
 * depthwise_conv.h DepthwiseConvPerChannel): out[y][x][c] = requantized(bias[c] + the sum, over the
 * filter's taps that fall inside the image, of w * (q - input_zero_point)). Tensors are NHWC.
 *
 * Each output position's window is gathered into one column (taps outside the image read the input's
 * zero point, which adds nothing), then the output channels are rows of a dense layer on it (c_dense.c).
 * A depthwise convolution is a grouped one with one input channel per group: each group has its own
 * column and rows (the generator transposes the filter [1][h][w][channels] to [channels][h][w][1]).
 */
struct conv {
    int32_t in_h, in_w, in_c, out_h, out_w, out_c, filter_h, filter_w, stride_h, stride_w, pad_h, pad_w;
    int32_t group_c;    /* input channels per group: in_c for an ordinary convolution, 1 for depthwise */
    int32_t input_zero; /* the input's zero point as an offset value u = zero point + 128 */
    const int8_t *weights; /* per group, its output channels' [filter_h][filter_w][group_c] filters,
                              padded with zeros to a multiple of 16, as a dense layer's weights */
    struct output out;
};

/* The window at (y0, x0) of the input channels first .. first + group_c - 1, tap by tap. */
static void gather(const struct conv *p, const uint8_t *in, int32_t y0, int32_t x0, int32_t first, uint8_t *column)
{
    const int32_t group_c = p->group_c, in_c = p->in_c, in_h = p->in_h, in_w = p->in_w, filter_w = p->filter_w;
    const int32_t x_start = x0 < 0 ? 0 : x0, x_end = x0 + filter_w < in_w ? x0 + filter_w : in_w;
    const int32_t before = (x_start - x0) * group_c, after = (x0 + filter_w - x_end) * group_c;
    const uint8_t zero = (uint8_t)p->input_zero;
    int32_t y, x, i;
    for (y = y0; y < y0 + p->filter_h; y++) {
        const uint8_t *row;
        if (y < 0 || y >= in_h) {
            for (i = 0; i < filter_w * group_c; i++)
                *column++ = zero;
            continue;
        }
        row = in + (y * in_w + x_start) * in_c + first;
        for (i = 0; i < before; i++)
            *column++ = zero;
        if (group_c == in_c) /* the taps of a row are contiguous */
            for (i = 0; i < (x_end - x_start) * in_c; i++)
                *column++ = row[i];
        else
            for (x = x_start; x < x_end; x++, row += in_c)
                for (i = 0; i < group_c; i++)
                    *column++ = row[i];
        for (i = 0; i < after; i++)
            *column++ = zero;
    }
}

/* `column`: the window's taps, padded with zeros to `inputs` (a multiple of 16: the weights' rows). */
static void conv_layer(const struct conv *p, const uint8_t *in, uint8_t *out, uint8_t *column)
{
    int32_t groups = p->in_c / p->group_c, rows = p->out_c / groups, oy, ox, g;
    int32_t taps = p->filter_h * p->filter_w * p->group_c, inputs = (taps + 15) / 16 * 16;
    int32_t size = (rows * inputs + 3) / 4 * 4;
    memset(column + taps, 0, (size_t)(inputs - taps));
    for (oy = 0; oy < p->out_h; oy++)
        for (ox = 0; ox < p->out_w; ox++, out += p->out_c)
            for (g = 0; g < groups; g++) {
                gather(p, in, oy * p->stride_h - p->pad_h, ox * p->stride_w - p->pad_w, g * p->group_c, column);
                dense_rows(p->weights + g * size, inputs, g * rows, rows, &p->out, column, out + g * rows);
            }
}
