/*
 * Runs an Arduino Uno firmware image under simavr with USART0 on a pty and a chosen
 * voltage on ADC0, so the real firmware talks to a gateway's `serve --serial`.
 *
 *   simavr-harness <firmware.elf> <pty-link> <adc0-millivolts>
 *
 * Makes <pty-link> a symlink to the pty, prints "ready <pty>" and waits for a line on
 * standard input before starting the CPU: a pty has no DTR, so the board cannot be reset
 * when the gateway opens its port, and bytes sent before that open are lost. Stops on
 * SIGTERM/SIGINT or when the firmware ends, printing the simulated time. Prints
 * "tx-line <simulated seconds>" whenever the firmware ends a line on the serial port.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sim_avr.h>
#include <sim_elf.h>
#include <avr_adc.h>
#include <avr_uart.h>
#include <parts/uart_pty.h>

static volatile sig_atomic_t stopping = 0;

/* Each line the firmware ends, with the simulated time: what the tests time the firmware by. */
static void onUartByte(struct avr_irq_t *irq, uint32_t value, void *param) {
  (void)irq;
  avr_t *avr = (avr_t *)param;
  if (value == '\n') {
    printf("tx-line %.6f\n", (double)avr->cycle / avr->frequency);
    fflush(stdout);
  }
}

static void onSignal(int sig) {
  (void)sig;
  stopping = 1;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s <firmware.elf> <pty-link> <adc0-millivolts>\n", argv[0]);
    return 2;
  }
  elf_firmware_t firmware;
  memset(&firmware, 0, sizeof firmware);
  if (elf_read_firmware(argv[1], &firmware) != 0) {
    fprintf(stderr, "cannot read %s\n", argv[1]);
    return 1;
  }
  strcpy(firmware.mmcu, "atmega328p");
  firmware.frequency = 16000000;
  avr_t *avr = avr_make_mcu_by_name(firmware.mmcu);
  if (avr == NULL || avr_init(avr) != 0) {
    fprintf(stderr, "simavr has no atmega328p\n");
    return 1;
  }
  avr_load_firmware(avr, &firmware);
  avr->vcc = avr->avcc = avr->aref = 5000; /* millivolts: a 5 V Uno */

  static uart_pty_t pty; /* large, and its thread keeps using it */
  uart_pty_init(avr, &pty);
  uart_pty_connect(&pty, '0');
  unlink(argv[2]);
  if (symlink(pty.port[0].slavename, argv[2]) != 0) {
    perror("symlink");
    _exit(1);
  }
  avr_raise_irq(avr_io_getirq(avr, AVR_IOCTL_ADC_GETIRQ, ADC_IRQ_ADC0), (uint32_t)atoi(argv[3]));
  avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_OUTPUT), onUartByte, avr);

  signal(SIGTERM, onSignal);
  signal(SIGINT, onSignal);
  printf("ready %s\n", pty.port[0].slavename);
  fflush(stdout);
  char go[16];
  if (fgets(go, sizeof go, stdin) == NULL) _exit(0);

  int state = cpu_Running;
  while (!stopping && state != cpu_Done && state != cpu_Crashed) state = avr_run(avr);
  printf("stopped after %.3f s of simulated time\n", (double)avr->cycle / avr->frequency);
  fflush(stdout);
  unlink(argv[2]);
  /* uart_pty_stop() can hang once the other side has closed (REAL-PARTS.md). */
  _exit(state == cpu_Crashed ? 1 : 0);
}
