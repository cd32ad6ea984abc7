import { describe, expect, it } from 'vitest';
import { RrdError } from '../../src/errors.ts';
import { classifyReplyLine, fillTemplate, formatCommand } from '../../src/rrd/rrd-command.ts';

describe('formatCommand', () => {
  it('joins plain arguments with spaces', () => {
    expect(formatCommand(['update', '/d/a.rrd', 'N:21.5'])).toBe('update /d/a.rrd N:21.5');
  });
  it('quotes an argument with blanks', () => {
    expect(formatCommand(['update', '/my data/a.rrd', 'N:1'])).toBe("update '/my data/a.rrd' N:1");
  });
  it('refuses a command without arguments', () => {
    expect(() => formatCommand([])).toThrow(expect.objectContaining({ code: 'E_RRD_BAD_ARG' }));
  });
  it('refuses quotes, line breaks and empty arguments', () => {
    for (const bad of ["a'b", 'a"b', 'a\nb', 'a\rb', '']) {
      expect(() => formatCommand(['update', bad])).toThrow(RrdError);
    }
  });
});

describe('classifyReplyLine', () => {
  it('reads OK, ERROR and output lines', () => {
    expect(classifyReplyLine('OK u:0.01 s:0.02 r:0.00')).toEqual({ kind: 'ok' });
    expect(classifyReplyLine('ERROR: f.rrd: illegal attempt')).toEqual({ kind: 'error', message: 'f.rrd: illegal attempt' });
    expect(classifyReplyLine('OKAY')).toEqual({ kind: 'data', text: 'OKAY' });
    expect(classifyReplyLine('OK')).toEqual({ kind: 'ok' }); // rrdtool's reply after its usage text
  });
});

describe('fillTemplate', () => {
  it('fills placeholders and writes U for unknown', () => {
    expect(fillTemplate('N:{t}:{h}', new Map<string, number | null>([['t', 21.5], ['h', null]]))).toEqual({ value: 'N:21.5:U', missing: [] });
  });
  it('writes U for a missing key and names it', () => {
    expect(fillTemplate('N:{t}:{h}', new Map([['h', 3]]))).toEqual({ value: 'N:U:3', missing: ['t'] });
  });
  it('fills long names, and writes U for a key that is there without a value', () => {
    const values = new Map<string, number | null>([['temperature', -3.25], ['humidity', null]]);
    expect(fillTemplate('N:{temperature}:{humidity}', values).value).toBe('N:-3.25:U');
  });
});
