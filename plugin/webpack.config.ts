// Extends the create-plugin build in .config/webpack (do not edit that folder: `npx
// @grafana/create-plugin update` rewrites it) with what this plugin needs beyond it:
// https://grafana.com/developers/plugin-tools/how-to-guides/extend-configurations#extend-the-webpack-config
import path from 'path';
import type { Compiler, Configuration } from 'webpack';
import { merge } from 'webpack-merge';

import grafanaConfig, { type Env } from './.config/webpack/webpack.config.ts';

/**
 * The JSX is compiled to React.createElement (classic runtime, SWC's default, set here so that a
 * change of default cannot slip in) on purpose: Grafana shares react/jsx-runtime with plugins only
 * since 11.6.11 / 12.0.10 / 12.1.7 / 12.2.5 / 12.3, and a bundled React 18 jsx-runtime breaks under
 * Grafana 13's React 19. Without it the bundle loads on every Grafana from 11.0 on. This check
 * fails the build if the automatic runtime comes back, bundled or as an external.
 */
class NoJsxRuntime {
  apply(compiler: Compiler) {
    compiler.hooks.afterCompile.tap('NoJsxRuntime', (compilation) => {
      for (const m of compilation.modules) {
        const r = (m as { resource?: string; userRequest?: string; request?: string }).resource ?? '';
        const req =
          (m as { userRequest?: string; request?: string }).userRequest ?? (m as { request?: string }).request ?? '';
        if (
          /react[\\/]jsx-(dev-)?runtime/.test(r) ||
          /^react\/jsx-(dev-)?runtime$/.test(req) ||
          /jsx-(dev-)?runtime/.test(m.identifier())
        ) {
          compilation.errors.push(
            new compiler.webpack.WebpackError(
              `react/jsx-runtime would be used (from ${r || req}); use the classic JSX runtime`
            )
          );
        }
      }
    });
  }
}

const config = async (env: Env): Promise<Configuration> => {
  const base = await grafanaConfig(env);
  const swc = base.module?.rules?.find(
    (
      r
    ): r is {
      use: { loader: string; options: { jsc: Record<string, unknown> } };
    } => typeof r === 'object' && r !== null && (r as { use?: { loader?: string } }).use?.loader === 'swc-loader'
  );
  if (!swc) {
    throw new Error('.config/webpack/webpack.config.ts has no swc-loader rule: update webpack.config.ts');
  }
  swc.use.options.jsc.transform = {
    react: { runtime: 'classic', pragma: 'React.createElement' },
  };
  const merged = merge(base, {
    // Production builds start clean: webpack's persistent cache keys loader options by rule
    // position, not content, and has replayed a build made with other options. Watch builds keep
    // it, with this file as a build dependency.
    cache: { type: 'filesystem', buildDependencies: { config: [path.resolve(process.cwd(), 'webpack.config.ts')] } },
    plugins: [new NoJsxRuntime()],
  });
  if (env.production) {
    merged.cache = false;
  }
  return merged;
};

export default config;
