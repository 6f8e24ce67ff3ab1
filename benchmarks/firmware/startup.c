/* Reset and the vector table for the MPS2 and MPS3 boards, and the two semihosting calls the firmware needs
 * (SYS_WRITE0 to print, SYS_EXIT to end QEMU): no C library start-up code, no newlib I/O. */
#include <stdint.h>

#include "firmware.h"

extern uint32_t __data_load[], __data_start[], __data_end[], __bss_start[], __bss_end[], __stack_top[];
int main(void);

static uint32_t semihost(uint32_t operation, const void *argument)
{
    register uint32_t r0 __asm__("r0") = operation;
    register const void *r1 __asm__("r1") = argument;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void put(const char *text)
{
    semihost(0x04, text); /* SYS_WRITE0 */
}

void stop(int ok)
{
    /* SYS_EXIT: ADP_Stopped_ApplicationExit ends QEMU with status 0, RunTimeErrorUnknown with 1. */
    semihost(0x18, (const void *)(uintptr_t)(ok ? 0x20026 : 0x20023));
    for (;;) {
    }
}

void Reset_Handler(void)
{
    uint32_t *from = __data_load, *to = __data_start;
#if defined(__ARM_FP) || defined(__ARM_FEATURE_MVE)
    *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20; /* CPACR: the FPU and Helium (CP10, CP11) usable */
    __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
    while (to < __data_end)
        *to++ = *from++;
    for (to = __bss_start; to < __bss_end;)
        *to++ = 0;
    stop(main() == 0);
}

static void Fault_Handler(void)
{
    put("fault\n");
    stop(0);
}

__attribute__((section(".vectors"), used)) static void (*const vectors[16])(void) = {
    (void (*)(void))__stack_top, Reset_Handler, Fault_Handler, Fault_Handler, Fault_Handler,
    Fault_Handler, Fault_Handler, 0, 0, 0, 0, Fault_Handler, Fault_Handler, 0, Fault_Handler, Fault_Handler,
};
