import { DataSourcePlugin } from '@grafana/data';

import { ConfigEditor } from './components/ConfigEditor';
import { QueryEditor } from './components/QueryEditor';
import { DataSource } from './datasource';
import { FlowOptions, FlowQuery, FlowSecureOptions } from './types';

export const plugin = new DataSourcePlugin<DataSource, FlowQuery, FlowOptions, FlowSecureOptions>(DataSource)
  .setConfigEditor(ConfigEditor)
  .setQueryEditor(QueryEditor);
