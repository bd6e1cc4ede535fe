import { it } from 'vitest';
import { compileTemplate } from '../../src/expressions/template.js';
it('smoke', () => {
  for (const s of ['${}', '${meter_value[}', '${a', '${a[?(@.x==1]}', '${a..b}', '{"${attributeKey}":"${attributeValue}"}']) {
    try { compileTemplate(s, 'text'); console.log('OK', s); } catch (e) { console.log(s, '=>', (e as Error).name, (e as Error).message); }
  }
});
