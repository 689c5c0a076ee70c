// Broken tarballs, one mistake each, to show that the suite fails on them: run.mjs installs the good tarballs with
// one of these in place (`--sabotage <kind>`) and checks that the checks named in `fails` fail.
import { manifestOf } from './tarball.mjs';

const editManifest = (files, edit) => {
  const pkg = manifestOf(files);
  edit(pkg);
  files.set('package/package.json', `${JSON.stringify(pkg, null, 2)}\n`);
};

const dropFiles = (files, pattern) => {
  for (const path of [...files.keys()]) if (pattern.test(path)) files.delete(path);
};

export const sabotages = {
  files: {
    package: '@sluice/core',
    what: 'without the files of its ./http entry, as if `files` had left them out',
    apply: (files) => dropFiles(files, /^package\/dist\/http\./),
    fails: ['pack: @sluice/core', "npm, ESM: the README's ten lines", "npm, CommonJS: the README's ten lines"],
  },
  exports: {
    package: '@sluice/core',
    what: 'with its main entry exported under `module` instead of the `import` condition',
    apply: (files) =>
      editManifest(files, (pkg) => {
        pkg.exports['.'] = { module: pkg.exports['.'].import, require: pkg.exports['.'].require };
      }),
    fails: ["npm, ESM: the README's ten lines", 'npm: every entry point'],
  },
  dependency: {
    package: '@sluice/cyberhaven',
    what: 'without ofetch in its dependencies',
    apply: (files) => editManifest(files, (pkg) => delete pkg.dependencies.ofetch),
    fails: ["npm, ESM: the preset's README example", "pnpm strict, ESM: the preset's README example"],
  },
  peer: {
    package: '@sluice/auth-token',
    what: 'without its peer dependency on @sluice/core (npm hoisting hides this one; pnpm strict does not)',
    apply: (files) => editManifest(files, (pkg) => delete pkg.peerDependencies['@sluice/core']),
    fails: ["pnpm strict, ESM: the README's ten lines", "pnpm strict, CommonJS: the README's ten lines"],
  },
  types: {
    package: '@sluice/error-map',
    what: 'without its declaration files',
    apply: (files) => dropFiles(files, /^package\/dist\/.*\.d\.[cm]ts$/),
    fails: ['pack: @sluice/error-map', 'npm, TypeScript (moduleResolution node16'],
  },
};
