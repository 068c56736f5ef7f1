/**
 * Loads dist/module.js the way Grafana does: an AMD module whose dependencies Grafana supplies
 * from its own copies (SystemJS). Here the real @grafana packages stand in for Grafana's, so the
 * check covers what the bundle asks for, that it evaluates, and that its editors render.
 */
import fs from 'node:fs';
import path from 'node:path';

import React from 'react';
import * as grafanaData from '@grafana/data';
import * as grafanaRuntime from '@grafana/runtime';
import * as grafanaUI from '@grafana/ui';
import { render, screen } from '@testing-library/react';
import * as rxjs from 'rxjs';

import { installFakeBackend, instanceSettings } from '../src/test/fixtures';

const dist = path.join(__dirname, '..', 'dist');

/** Modules Grafana 11 and later share with plugins (sharedDependenciesMap), those we supply here,
 * and the AMD loader's own `module`. */
const SHARED: Record<string, unknown> = {
  '@grafana/data': grafanaData,
  '@grafana/runtime': grafanaRuntime,
  '@grafana/ui': grafanaUI,
  react: React,
  rxjs,
  // SystemJS's meta module: the create-plugin build reads its uri to find the plugin's public path.
  module: { uri: 'public/plugins/vpcflow-flowlogs-datasource/module.js' },
};

interface Loaded {
  deps: string[];
  exports: { plugin: grafanaData.DataSourcePlugin<grafanaData.DataSourceApi> };
}

function loadBundle(): Loaded {
  const code = fs.readFileSync(path.join(dist, 'module.js'), 'utf8');
  let loaded: Loaded | undefined;
  const define = (deps: string[], factory: (...mods: unknown[]) => Loaded['exports']) => {
    loaded = { deps, exports: factory(...deps.map((d) => SHARED[d])) };
  };
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const run = new Function('define', code) as (d: typeof define) => void;
  run(define);
  if (!loaded) {
    throw new Error('dist/module.js did not call define()');
  }
  return loaded;
}

describe('dist/module.js', () => {
  it('asks Grafana only for modules Grafana shares, and bundles no react/jsx-runtime', () => {
    const { deps } = loadBundle();
    expect(deps.sort()).toEqual(Object.keys(SHARED).sort());
    expect(fs.readFileSync(path.join(dist, 'module.js'), 'utf8')).not.toMatch(/ReactCurrentOwner|jsx-runtime/);
  });

  it('exports a data source plugin with its editors and variable support', () => {
    const { plugin } = loadBundle().exports;
    expect(plugin).toBeInstanceOf(grafanaData.DataSourcePlugin);
    expect(plugin.components.ConfigEditor).toBeDefined();
    expect(plugin.components.QueryEditor).toBeDefined();
    const ds = new plugin.DataSourceClass(instanceSettings());
    expect(ds).toBeInstanceOf(grafanaRuntime.DataSourceWithBackend);
    expect(ds.variables?.getType()).toBe(grafanaData.VariableSupportType.Custom);
  });

  it('renders the bundled query editor with the reports from the backend', async () => {
    installFakeBackend();
    const { plugin } = loadBundle().exports;
    const ds = new plugin.DataSourceClass(instanceSettings());
    const QueryEditor = plugin.components.QueryEditor!;
    render(<QueryEditor datasource={ds} query={{ refId: 'A' }} onChange={jest.fn()} onRunQuery={jest.fn()} />);
    expect(await screen.findByText('Action')).toBeInTheDocument();
    expect(screen.getByRole('radio', { name: 'Rate' })).toBeChecked();
  });

  it('ships plugin.json with the id, backend executable and version filled in', () => {
    const meta = JSON.parse(fs.readFileSync(path.join(dist, 'plugin.json'), 'utf8')) as Record<string, unknown>;
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string };
    expect(meta).toMatchObject({
      id: 'vpcflow-flowlogs-datasource',
      type: 'datasource',
      backend: true,
      alerting: true,
      metrics: true,
      executable: 'gpx_vpcflow',
      info: {
        version: pkg.version,
        logos: { small: 'img/logo.svg', large: 'img/logo.svg' },
      },
      dependencies: { grafanaDependency: '>=11.0.0' },
    });
    expect(JSON.stringify(meta)).not.toMatch(/%VERSION%|%TODAY%/);
    expect(fs.existsSync(path.join(dist, 'img', 'logo.svg'))).toBe(true);
    expect(fs.existsSync(path.join(dist, 'README.md'))).toBe(true);
  });
});
