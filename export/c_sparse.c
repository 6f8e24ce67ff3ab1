/* Fully connected layers with sparse weights (pruned models): the same sums as c_dense.c, over the
 * non-zero weights only. Per row, a bitmask says which weights are not zero (bit 31 - i of word k:
 * weight 32k + i, so that counting leading zeros finds the next one); the non-zero values follow row
 * by row. The bias absorbs the input offset (sum of w * u). */
struct sparse_dense {
    int32_t inputs, outputs;
    const uint32_t *mask; /* [outputs][(inputs + 31) / 32] */
    const int8_t *values;
    struct output out;
};

static int leading_zeros(uint32_t bits) /* bits != 0 */
{
#if defined(__GNUC__)
    return __builtin_clz(bits); /* one CLZ on a Cortex-M3 and up */
#else
    int n = 0;
    for (; !(bits & 0x80000000u); bits <<= 1)
        n++;
    return n;
#endif
}

static void sparse_dense_layer(const struct sparse_dense *layer, const uint8_t *in, uint8_t *out)
{
    const uint32_t *mask = layer->mask;
    const int8_t *w = layer->values;
    int32_t words = (layer->inputs + 31) / 32, o, k;
    for (o = 0; o < layer->outputs; o++) {
        const uint8_t *x = in;
        int32_t acc = layer->out.bias[o];
        for (k = 0; k < words; k++, x += 32) {
            uint32_t bits = *mask++;
            while (bits) {
                int i = leading_zeros(bits);
                acc += x[i] * *w++;
                bits &= ~(0x80000000u >> i);
            }
        }
        output_values(&layer->out, o, &acc, 1, out + o);
    }
}
