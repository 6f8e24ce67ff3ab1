/* Classify the test images kept in flash with the generated model and print, over semihosting:
 *   scores <image> <20 hex digits: the 10 int8 scores>     one line per image
 *   stack <used> <free>  the stack high-water mark of one inference (painted, then scanned), of free
 *   ticks <sum> <images> SysTick ticks spent in fmnist_predict over all images
 *   loop <instructions> <ticks>  a loop of known length, to turn ticks into instructions
 * Run under `qemu-system-arm -icount shift=0`, a tick is a fixed number of instructions. */
#include <stdint.h>

#include "firmware.h"
#include "fmnist_model.h"

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define PAINT 0xA5A5A5A5u
#define LOOP_ITERATIONS 100000u /* of a two-instruction loop (subs, bne) */

extern uint32_t __stack_limit[];

static void put_number(const char *label, uint32_t a, uint32_t b)
{
    char text[48], digits[12];
    int n = 0, d;
    uint32_t values[2] = {a, b}, v;
    while (*label)
        text[n++] = *label++;
    for (v = 0; v < 2; v++) {
        uint32_t x = values[v];
        d = 0;
        do {
            digits[d++] = (char)('0' + x % 10);
            x /= 10;
        } while (x);
        text[n++] = ' ';
        while (d)
            text[n++] = digits[--d];
    }
    text[n++] = '\n';
    text[n] = 0;
    put(text);
}

static void put_scores(uint32_t image, const int8_t scores[FMNIST_CLASSES])
{
    static const char hex[] = "0123456789abcdef";
    char text[64] = "scores ";
    int n = 7, c;
    uint32_t x = image, d = 1;
    while (x / d >= 10)
        d *= 10;
    for (; d; d /= 10)
        text[n++] = (char)('0' + (x / d) % 10);
    text[n++] = ' ';
    for (c = 0; c < FMNIST_CLASSES; c++) {
        text[n++] = hex[(uint8_t)scores[c] >> 4];
        text[n++] = hex[(uint8_t)scores[c] & 15];
    }
    text[n++] = '\n';
    text[n] = 0;
    put(text);
}

static uint32_t elapsed(uint32_t start, uint32_t end)
{
    return (start - end) & 0xFFFFFFu; /* SysTick counts down, 24 bits */
}

/* Fill the free stack below the caller with PAINT (keeping clear of this function's own frame). */
static __attribute__((noinline)) void paint_stack(void)
{
    uint32_t *p = __stack_limit, *sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    while (p < sp - 16)
        *p++ = PAINT;
}

static uint32_t lowest_touched(void)
{
    uint32_t *p = __stack_limit;
    while (*p == PAINT)
        p++;
    return (uint32_t)(uintptr_t)p;
}

int main(void)
{
    int8_t scores[FMNIST_CLASSES];
    uint32_t image, sum = 0, start, end, sp, loop = LOOP_ITERATIONS;

    SYST_RVR = 0xFFFFFFu;
    SYST_CVR = 0;
    SYST_CSR = 5u; /* enabled, processor clock, no interrupt */
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    paint_stack();
    for (image = 0; image < test_image_count; image++) {
        start = SYST_CVR;
        fmnist_predict(test_images[image], scores);
        end = SYST_CVR;
        sum += elapsed(start, end);
        if (image == 0)
            put_number("stack", sp - lowest_touched(), sp - (uint32_t)(uintptr_t)__stack_limit);
        put_scores(image, scores);
    }
    put_number("ticks", sum, test_image_count);
    start = SYST_CVR;
    __asm__ volatile("1: subs %0, %0, #1\n bne 1b" : "+l"(loop) : : "cc");
    end = SYST_CVR;
    put_number("loop", 2 * LOOP_ITERATIONS, elapsed(start, end));
    return 0;
}
