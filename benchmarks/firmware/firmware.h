/* What the firmware's parts share: printing and stopping over semihosting (startup.c), the test
 * images kept in flash (images.c, written by benchmarks/firmware.py). */
#include <stdint.h>

void put(const char *text);
void stop(int ok);

extern const uint8_t test_images[][784];
extern const uint32_t test_image_count;
