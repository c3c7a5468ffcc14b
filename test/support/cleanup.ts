/**
 * Vitest setup file: after each test file, remove the temp projects it made through tempProject
 * (a suite run used to leave hundreds of folders in the system temp directory).
 */
import { afterAll } from 'vitest';
import { removeTempProjects } from './cli.js';

afterAll(() => removeTempProjects());
