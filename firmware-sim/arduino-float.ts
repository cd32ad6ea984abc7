const f = Math.fround;

/**
 * `Print::printFloat` from the Arduino AVR core, with its 32-bit `double`:
 * rounds by adding 0.5·10^-digits, prints the integer part, then one digit at a
 * time from the remainder. Gives `nan`, `inf` and `ovf` like the board does.
 */
export function arduinoPrintFloat(value: number, digits = 2): string {
  let number = f(value);
  if (Number.isNaN(number)) return 'nan';
  if (!Number.isFinite(number)) return 'inf';
  if (number > 4294967040.0 || number < -4294967040.0) return 'ovf';
  let out = '';
  if (number < 0) {
    out += '-';
    number = f(-number);
  }
  let rounding = f(0.5);
  for (let i = 0; i < digits; i++) rounding = f(rounding / 10);
  number = f(number + rounding);
  const intPart = Math.trunc(number) >>> 0;
  let remainder = f(number - intPart);
  out += String(intPart);
  if (digits > 0) out += '.';
  for (let i = 0; i < digits; i++) {
    remainder = f(remainder * 10);
    const digit = Math.trunc(remainder);
    out += String(digit);
    remainder = f(remainder - digit);
  }
  return out;
}
