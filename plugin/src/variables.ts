import { CustomVariableSupport, DataQueryRequest, DataQueryResponse } from '@grafana/data';
import { from, map, Observable } from 'rxjs';

import { VariableQueryEditor } from './components/VariableQueryEditor';
import type { DataSource } from './datasource';
import { FlowOptions, FlowQuery, FlowVariableQuery } from './types';

/** Query variables: a report's label values through the backend's `label-values` resource. */
export class FlowVariableSupport extends CustomVariableSupport<
  DataSource,
  FlowVariableQuery,
  FlowQuery,
  FlowOptions
> {
  editor = VariableQueryEditor;

  constructor(private readonly datasource: DataSource) {
    super();
  }

  override getDefaultQuery(): Partial<FlowVariableQuery> {
    return { report: 'vpcs', label: 'vpc_id', filters: [] };
  }

  query(request: DataQueryRequest<FlowVariableQuery>): Observable<DataQueryResponse> {
    const [query] = request.targets;
    if (!query) {
      return from([{ data: [] }]);
    }
    return from(
      this.datasource.metricFindQuery(query, { scopedVars: request.scopedVars, range: request.range })
    ).pipe(map((data) => ({ data })));
  }
}
