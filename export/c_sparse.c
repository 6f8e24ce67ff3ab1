/* Fully connected layers with sparse weights (pruned models): the same sums as c_dense.c, over the
 * non-zero weights only. Per row, a bitmask says which weights are not zero (bit i of word k: weight
 * 32k + i); the values follow row by row. The bias absorbs the input offset (sum of w * u). */
struct sparse_dense {
    int32_t inputs, outputs;
    const uint32_t *mask; /* [outputs][(inputs + 31) / 32] */
    const int8_t *values;
    struct output out;
};

static int lowest_bit(uint32_t bits)
{
#if defined(__GNUC__)
    return __builtin_ctz(bits); /* RBIT + CLZ on a Cortex-M3 and up */
#else
    int i = 0;
    for (; !(bits & 1u); bits >>= 1)
        i++;
    return i;
#endif
}

static void sparse_dense_layer(const struct sparse_dense *layer, const uint8_t *in, uint8_t *out)
{
    const uint32_t *mask = layer->mask;
    const int8_t *w = layer->values;
    int32_t words = (layer->inputs + 31) / 32, o, k;
    for (o = 0; o < layer->outputs; o++) {
        int32_t acc = layer->out.bias[o];
        for (k = 0; k < words; k++) {
            const uint8_t *x = in + 32 * k;
            uint32_t bits;
            for (bits = *mask++; bits; bits &= bits - 1)
                acc += x[lowest_bit(bits)] * *w++;
        }
        out[o] = output_value(&layer->out, o, acc);
    }
}
