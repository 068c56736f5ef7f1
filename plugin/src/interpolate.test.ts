import { ScopedVars } from '@grafana/data';

import { interpolateFilters } from './interpolate';
import { FakeVariable, fakeTemplateSrv } from './test/fixtures';
import { Filter } from './types';

/**
 * Whether a label value passes a filter as VictoriaMetrics applies it: `=` / `!=` compare text,
 * `=~` / `!~` match an RE2 expression anchored at both ends. JavaScript's RegExp stands in for
 * RE2: the escapes the plugin writes (`\.`, `\|`, `\(`, `\\`, …) mean the same in both.
 */
function passes(f: Filter, labelValue: string): boolean {
  switch (f.op) {
    case '=':
      return labelValue === f.value;
    case '!=':
      return labelValue !== f.value;
    case '=~':
      return new RegExp(`^(?:${f.value})$`).test(labelValue);
    case '!~':
      return !new RegExp(`^(?:${f.value})$`).test(labelValue);
  }
}

const listed = (...values: string[]): FakeVariable => ({ value: values, multi: true, includeAll: true });
const all = (extra: Partial<FakeVariable>): FakeVariable => ({ value: ['$__all'], multi: true, includeAll: true, ...extra });

describe('interpolateFilters', () => {
  it.each<{
    name: string;
    vars: Record<string, string | string[] | FakeVariable>;
    scoped?: ScopedVars;
    filter: Filter;
    want: Filter;
    match: string[];
    noMatch: string[];
  }>([
    {
      name: 'a literal prefix and one host: = stays, compared as text',
      vars: { host: listed('5') },
      filter: { label: 'src_addr', op: '=', value: '10.0.0.$host' },
      want: { label: 'src_addr', op: '=', value: '10.0.0.5' },
      match: ['10.0.0.5'],
      noMatch: ['10.0.0x5', '10.0.0.55'],
    },
    {
      name: 'a literal prefix and two hosts: =~ with the prefix escaped',
      vars: { host: listed('5', '6') },
      filter: { label: 'src_addr', op: '=', value: '10.0.0.$host' },
      want: { label: 'src_addr', op: '=~', value: '10\\.0\\.0\\.(5|6)' },
      match: ['10.0.0.5', '10.0.0.6'],
      noMatch: ['10.0.0x5', '10x0x0x6', '10.0.0.56', '10.0.0.'],
    },
    {
      name: 'a literal prefix and two hosts, !=: !~ with the prefix escaped',
      vars: { host: listed('5', '6') },
      filter: { label: 'src_addr', op: '!=', value: '10.0.0.${host}' },
      want: { label: 'src_addr', op: '!~', value: '10\\.0\\.0\\.(5|6)' },
      match: ['10.0.0x5', '10.0.0.7'],
      noMatch: ['10.0.0.5', '10.0.0.6'],
    },
    {
      name: 'values with regex metacharacters, each escaped',
      vars: { v: listed('a.b', 'a|b', '(x)', '\\', '[^$]{1}*+?') },
      filter: { label: 'vpc_id', op: '=', value: '$v' },
      want: { label: 'vpc_id', op: '=~', value: '(a\\.b|a\\|b|\\(x\\)|\\\\|\\[\\^\\$\\]\\{1\\}\\*\\+\\?)' },
      match: ['a.b', 'a|b', '(x)', '\\', '[^$]{1}*+?'],
      noMatch: ['axb', 'a', 'b', 'x', '(x', '\\\\', '', '^$1'],
    },
    {
      name: 'metacharacters in the literal text around several values',
      vars: { v: listed('1', '2') },
      filter: { label: 'vpc_id', op: '=', value: '(a.b|$v)\\' },
      want: { label: 'vpc_id', op: '=~', value: '\\(a\\.b\\|(1|2)\\)\\\\' },
      match: ['(a.b|1)\\', '(a.b|2)\\'],
      noMatch: ['a.b', '1', '(axb|1)\\', '(a.b|1)'],
    },
    {
      name: 'a single-valued text box beside several values is escaped too',
      vars: { prefix: '10.0', host: listed('1', '2') },
      filter: { label: 'src_addr', op: '=', value: '$prefix.0.$host' },
      want: { label: 'src_addr', op: '=~', value: '10\\.0\\.0\\.(1|2)' },
      match: ['10.0.0.1', '10.0.0.2'],
      noMatch: ['10x0.0.1', '10.0x0.2'],
    },
    {
      name: '=~: one value picked from a list is escaped',
      vars: { host: listed('10.0.0.5') },
      filter: { label: 'src_addr', op: '=~', value: '$host' },
      want: { label: 'src_addr', op: '=~', value: '10\\.0\\.0\\.5' },
      match: ['10.0.0.5'],
      noMatch: ['10x0x0x5'],
    },
    {
      name: '=~: a text box may hold a regex',
      vars: { re: 'vpc-0.*' },
      filter: { label: 'vpc_id', op: '=~', value: '${re}' },
      want: { label: 'vpc_id', op: '=~', value: 'vpc-0.*' },
      match: ['vpc-0', 'vpc-0abc'],
      noMatch: ['vpc-1'],
    },
    {
      name: "=~: the user's regex around several values is kept",
      vars: { v: listed('a.b', 'c') },
      filter: { label: 'vpc_id', op: '=~', value: '.*-$v' },
      want: { label: 'vpc_id', op: '=~', value: '.*-(a\\.b|c)' },
      match: ['x-a.b', '-c', 'x.y-c'],
      noMatch: ['x-axb', 'x-cc'],
    },
    {
      name: '!~: several values with metacharacters',
      vars: { v: listed('a.b', 'c') },
      filter: { label: 'vpc_id', op: '!~', value: '$v' },
      want: { label: 'vpc_id', op: '!~', value: '(a\\.b|c)' },
      match: ['axb', 'cc'],
      noMatch: ['a.b', 'c'],
    },
    {
      name: 'All without a custom all value: every option, escaped',
      vars: { v: all({ options: ['a.b', 'c|d'] }) },
      filter: { label: 'vpc_id', op: '=', value: '$v' },
      want: { label: 'vpc_id', op: '=~', value: '(a\\.b|c\\|d)' },
      match: ['a.b', 'c|d'],
      noMatch: ['axb', 'c', 'd'],
    },
    {
      name: 'All with one option: = stays',
      vars: { v: all({ options: ['a.b'] }) },
      filter: { label: 'vpc_id', op: '=', value: '$v' },
      want: { label: 'vpc_id', op: '=', value: 'a.b' },
      match: ['a.b'],
      noMatch: ['axb'],
    },
    {
      name: 'All with the custom all value .* after a literal prefix: a regex, the prefix escaped',
      vars: { host: all({ allValue: '.*' }) },
      filter: { label: 'src_addr', op: '=', value: '10.0.0.$host' },
      want: { label: 'src_addr', op: '=~', value: '10\\.0\\.0\\.(.*)' },
      match: ['10.0.0.5', '10.0.0.'],
      noMatch: ['10x0.0.5', '11.0.0.5'],
    },
    {
      name: 'All with a custom all value, =~: kept as a regex',
      vars: { vpc: all({ allValue: 'vpc-a|vpc-b' }) },
      filter: { label: 'vpc_id', op: '=~', value: '$vpc' },
      want: { label: 'vpc_id', op: '=~', value: '(vpc-a|vpc-b)' },
      match: ['vpc-a', 'vpc-b'],
      noMatch: ['vpc-c'],
    },
    {
      name: 'a repeated panel: the scoped value, compared as text',
      vars: { host: listed('5', '6') },
      scoped: { host: { text: '6', value: '6' } },
      filter: { label: 'src_addr', op: '=', value: '10.0.0.$host' },
      want: { label: 'src_addr', op: '=', value: '10.0.0.6' },
      match: ['10.0.0.6'],
      noMatch: ['10.0.0.5', '10.0.0x6'],
    },
    {
      name: 'an unknown variable is text, escaped in a regex',
      vars: { host: listed('5', '6') },
      filter: { label: 'src_addr', op: '=', value: '$nope.$host' },
      want: { label: 'src_addr', op: '=~', value: '\\$nope\\.(5|6)' },
      match: ['$nope.5'],
      noMatch: ['$nopex5', 'nope.5'],
    },
  ])('$name', ({ vars, scoped, filter, want, match, noMatch }) => {
    const [got] = interpolateFilters([filter], scoped ?? {}, fakeTemplateSrv(vars));
    expect(got).toEqual(want);
    for (const v of match) {
      expect([v, passes(got, v)]).toEqual([v, true]);
    }
    for (const v of noMatch) {
      expect([v, passes(got, v)]).toEqual([v, false]);
    }
  });
});
