import { beforeAll } from 'vitest';
import { useNewTestProject } from './helpers.ts';

// Every test file works in a project of its own, so files never see each other's counts.
beforeAll(async () => {
  await useNewTestProject();
});
