package reporttest

import (
	"fmt"
	"testing"

	"github.com/vpcflow/vpcflow/schema"
	"github.com/vpcflow/vpcflow/vmclient"
)

func TestDerive(t *testing.T) {
	series := Series
	render := func(ss []vmclient.Series) []string {
		var out []string
		for _, s := range ss {
			out = append(out, fmt.Sprint(s.Labels, s.Samples))
		}
		return out
	}
	for _, tc := range []struct {
		name string
		in   []vmclient.Series
		want []vmclient.Series
	}{
		{"nothing", nil, nil},
		{"status derives nothing", []vmclient.Series{series("vpcflow_status_records", schema.Status, nil, vmclient.Sample{Timestamp: 1, Value: 1})}, nil},
		{"interface sums per timestamp", []vmclient.Series{
			series("vpcflow_interface_bytes", schema.Interface, map[string]string{"interface_id": "eni-a", "action": "ACCEPT"}, vmclient.Sample{Timestamp: 60_000, Value: 2}, vmclient.Sample{Timestamp: 120_000, Value: 3}),
			series("vpcflow_interface_bytes", schema.Interface, map[string]string{"interface_id": "eni-b", "action": "ACCEPT"}, vmclient.Sample{Timestamp: 7, Value: 5}, vmclient.Sample{Timestamp: 60_000, Value: 4}),
			series("vpcflow_interface_flows", schema.Interface, map[string]string{"interface_id": "eni-b", "action": "REJECT", "flow_direction": "ingress"}, vmclient.Sample{Timestamp: 7, Value: 1}),
		}, []vmclient.Series{
			series("vpcflow_total_bytes", schema.Total, map[string]string{"action": "ACCEPT"}, vmclient.Sample{Timestamp: 7, Value: 5}, vmclient.Sample{Timestamp: 60_000, Value: 6}, vmclient.Sample{Timestamp: 120_000, Value: 3}),
			series("vpcflow_total_flows", schema.Total, map[string]string{"action": "REJECT", "flow_direction": "ingress"}, vmclient.Sample{Timestamp: 7, Value: 1}),
		}},
		{"pair", []vmclient.Series{
			series("vpcflow_pair_packets", schema.Pair, map[string]string{"src_interface": "eni-a", "action": "ACCEPT", "vpc_id": "vpc-1"}, vmclient.Sample{Timestamp: 0, Value: 2}),
			series("vpcflow_pair_packets", schema.Pair, map[string]string{"dst_interface": "eni-a", "action": "ACCEPT", "vpc_id": "vpc-1"}, vmclient.Sample{Timestamp: 0, Value: 3}),
		}, []vmclient.Series{
			series("vpcflow_pair_total_packets", schema.PairTotal, map[string]string{"action": "ACCEPT", "vpc_id": "vpc-1"}, vmclient.Sample{Timestamp: 0, Value: 5}),
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, want := render(Derive(tc.in)), render(tc.want)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("Derive =\n%q\nwant\n%q", got, want)
			}
		})
	}
}
