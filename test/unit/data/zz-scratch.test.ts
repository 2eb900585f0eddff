it('times', () => {
  let t = performance.now();
  let s = 0;
  for (let i = 0; i < 1e6; i++) s += (i * 3) ^ 5;
  console.log('plain', performance.now() - t);
  t = performance.now();
  for (let i = 0; i < 1e6; i++) s += Math.abs(i);
  console.log('abs', performance.now() - t);
  t = performance.now();
  for (let i = 0; i < 1e6; i++) s += Math.imul(i, 3);
  console.log('imul', performance.now() - t);
  const imul = Math.imul;
  t = performance.now();
  for (let i = 0; i < 1e6; i++) s += imul(i, 3);
  console.log('imul local', performance.now() - t);
  t = performance.now();
  for (let i = 0; i < 1e6; i++) s += (i * 3) | 0;
  console.log('mul|0', performance.now() - t);
  console.log(
    Math.imul.toString(),
    Object.getOwnPropertyDescriptor(globalThis, 'Math'),
    typeof (globalThis as any).__coverage__,
    process.execArgv,
    s > 0,
  );
});
