/**
 * The security metric families read the connector's security counters: every counter is exported
 * by some family (nothing counted stays unseen) and every field a family names is a counter.
 */
import { describe, expect, it } from 'vitest';
import { newSecurityCounters } from '../../src/security/counters.js';
import { SECURITY_METRIC_FAMILIES } from '../../src/status/security-metrics.js';

describe('security metric families', () => {
  const counters = Object.keys(newSecurityCounters());
  const exported = new Set(SECURITY_METRIC_FAMILIES.flatMap((f) => Object.keys(f.fields)));

  it('export every security counter', () => {
    expect(counters.filter((c) => !exported.has(c))).toEqual([]);
  });

  it.each(SECURITY_METRIC_FAMILIES.map((f) => [f.name, f] as const))(
    '%s names only counters',
    (_name, family) => {
      expect(Object.keys(family.fields).filter((f) => !counters.includes(f))).toEqual([]);
      expect(family.name).toMatch(/^[a-z_]+_total$/);
      // Several fields need a label to tell them apart, and label values are snake case.
      if (Object.keys(family.fields).length > 1) expect(family.label).toMatch(/^[a-z_]+$/);
      for (const value of Object.values(family.fields)) expect(value).toMatch(/^[a-z_]*$/);
    },
  );
});
