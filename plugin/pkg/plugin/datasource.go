// Package plugin is the backend of the "VPC Flow Logs" Grafana data source
// (vpcflow-flowlogs-datasource): one Datasource per data source settings,
// answering queries, alert queries, health checks and the editors'
// resources with the shared report engine (report) over
// VictoriaMetrics.
package plugin

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/httpclient"
	"github.com/grafana/grafana-plugin-sdk-go/backend/instancemgmt"
	"github.com/grafana/grafana-plugin-sdk-go/backend/log"
	"github.com/grafana/grafana-plugin-sdk-go/backend/resource/httpadapter"

	"github.com/vpcflow/vpcflow/plugin/pkg/models"
	"github.com/vpcflow/vpcflow/report"
	"github.com/vpcflow/vpcflow/vmclient"
)

// ID is the plugin's id, as in plugin/src/plugin.json.
const ID = "vpcflow-flowlogs-datasource"

// MaxConcurrentQueries bounds the queries of one QueryData request that run
// at the same time. The report engine's client bounds the HTTP requests to
// VictoriaMetrics of each data source to vmclient.DefaultConcurrency as well.
const MaxConcurrentQueries = 4

// Interfaces a Datasource implements.
var (
	_ backend.QueryDataHandler      = (*Datasource)(nil)
	_ backend.CheckHealthHandler    = (*Datasource)(nil)
	_ backend.CallResourceHandler   = (*Datasource)(nil)
	_ instancemgmt.InstanceDisposer = (*Datasource)(nil)
)

// Datasource is one instance of the data source: its settings and a report
// engine querying the VictoriaMetrics they name. It is safe for concurrent
// use.
type Datasource struct {
	settings models.Settings
	engine   *report.Engine
	http     *http.Client
	// setupErr is why the settings cannot be used; every call answers
	// with it (a health check as ERROR, a query as its error).
	setupErr  error
	redactor  *vmclient.Redactor // the settings' secrets
	resources backend.CallResourceHandler
}

// NewDatasource is the instance factory Grafana's instance manager calls
// for each data source settings (and again when they change). Invalid
// settings do not fail it: the instance answers every call with what is
// wrong, so that "Save & test" shows it.
func NewDatasource(ctx context.Context, ds backend.DataSourceInstanceSettings) (instancemgmt.Instance, error) {
	d := &Datasource{}
	d.resources = httpadapter.New(d.resourceMux())
	settings, err := models.LoadSettings(ds)
	d.settings, d.redactor = settings, vmclient.NewRedactor(settings.SecretValues()...)
	if err != nil {
		d.setupErr = d.redact(err)
		return d, nil
	}
	opts, err := ds.HTTPClientOptions(ctx)
	if err != nil {
		d.setupErr = d.redact(fmt.Errorf("data source settings: HTTP client options: %w", err))
		return d, nil
	}
	// The report engine sends the credentials itself (and keeps them out
	// of its errors); the client carries TLS, proxy and Grafana's
	// middlewares.
	opts.BasicAuth = nil
	if settings.TLSSkipVerify {
		if opts.TLS == nil {
			opts.TLS = &httpclient.TLSOptions{}
		}
		opts.TLS.InsecureSkipVerify = true
	}
	client, err := httpclient.New(opts)
	if err != nil {
		d.setupErr = d.redact(fmt.Errorf("data source settings: HTTP client: %w", err))
		return d, nil
	}
	d.http = client
	user, password, token := settings.Credentials()
	engine, err := report.New(vmclient.Config{
		URL:         settings.APIURL(),
		Username:    user,
		Password:    password,
		BearerToken: token,
		HTTPClient:  client,
	})
	if err != nil {
		d.setupErr = d.redact(fmt.Errorf("data source settings: %w", err))
		return d, nil
	}
	d.engine = engine
	return d, nil
}

// Dispose closes the idle connections of the instance's HTTP client; the
// instance manager calls it when the settings change or the data source is
// deleted.
func (d *Datasource) Dispose() {
	if d.http != nil {
		d.http.CloseIdleConnections()
	}
}

// Settings returns the settings the instance was made with.
func (d *Datasource) Settings() models.Settings { return d.settings }

// logger returns the plugin's logger with the request's attributes (data
// source, endpoint, trace) that the SDK puts in ctx.
func (d *Datasource) logger(ctx context.Context) log.Logger {
	return backend.Logger.FromContext(ctx)
}

// redact returns err with every secret of the settings, and any echoed
// credential header, removed from its message (the report engine already
// keeps them out of its own errors: this is a second guard), keeping its
// chain for errors.Is and As.
func (d *Datasource) redact(err error) error { return d.redactor.Error(err) }

// errNotConfigured is the setup error of an instance without an engine.
var errNotConfigured = errors.New("data source settings: not configured")

// ready returns the setup error, if any.
func (d *Datasource) ready() error {
	if d.setupErr != nil {
		return d.setupErr
	}
	if d.engine == nil {
		return errNotConfigured
	}
	return nil
}
