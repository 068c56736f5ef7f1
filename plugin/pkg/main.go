// Command gpx_vpcflow is the backend of the "VPC Flow Logs" Grafana data
// source (vpcflow-flowlogs-datasource). Grafana starts it and talks to it
// over gRPC; see package plugin.
package main

import (
	"os"

	"github.com/grafana/grafana-plugin-sdk-go/backend/datasource"
	"github.com/grafana/grafana-plugin-sdk-go/backend/log"

	"github.com/vpcflow/vpcflow/plugin/pkg/plugin"
)

func main() {
	// Manage serves the data source until Grafana stops it, with one
	// instance per data source settings (see plugin.NewDatasource).
	if err := datasource.Manage(plugin.ID, plugin.NewDatasource, datasource.ManageOpts{}); err != nil {
		log.DefaultLogger.Error("The VPC Flow Logs data source stopped", "error", err.Error())
		os.Exit(1)
	}
}
