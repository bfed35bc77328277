import { defineConfig } from 'tsup';
import { libraryBuild } from '../../tsup.base';

// import.meta.url in the CJS build: shipped weights are found relative to the module file.
export default defineConfig(libraryBuild({ shims: true }));
