import { useEffect, useState } from 'react';

import type { DataSource } from '../datasource';
import { ReportInfo } from '../types';

export interface ReportsState {
  reports: ReportInfo[];
  loading: boolean;
  error?: string;
}

interface Loaded {
  /** The data source the answer came from: another one means loading again. */
  datasource: DataSource;
  reports: ReportInfo[];
  error?: string;
}

/** Loads the report registry from the backend's `reports` resource. */
export function useReports(datasource: DataSource): ReportsState {
  const [loaded, setLoaded] = useState<Loaded>();
  useEffect(() => {
    let active = true;
    datasource.getReports().then(
      (reports) => active && setLoaded({ datasource, reports }),
      (err: unknown) => active && setLoaded({ datasource, reports: [], error: errorMessage(err) })
    );
    return () => {
      active = false;
    };
  }, [datasource]);
  if (loaded?.datasource !== datasource) {
    return { reports: [], loading: true };
  }
  return { reports: loaded.reports, loading: false, error: loaded.error };
}

/** The message of an error thrown by getBackendSrv (a FetchError) or anything else. */
export function errorMessage(err: unknown): string {
  if (err && typeof err === 'object') {
    const e = err as { data?: { message?: unknown }; message?: unknown; statusText?: unknown };
    for (const m of [e.data?.message, e.message, e.statusText]) {
      if (typeof m === 'string' && m) {
        return m;
      }
    }
  }
  return typeof err === 'string' ? err : 'unknown error';
}
