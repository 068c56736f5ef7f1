package reporttest

import (
	"context"
	"slices"
	"testing"

	"github.com/vpcflow/vpcflow/schema"
	"github.com/vpcflow/vpcflow/vmclient"
)

// Series returns a hand-made series named name of family (a schema family
// ID): every label of the family, absent ("-") unless set gives its value.
func Series(name string, family int, set map[string]string, samples ...vmclient.Sample) vmclient.Series {
	labels := []vmclient.Label{{Name: "__name__", Value: name}}
	for _, l := range schema.Families()[family].Labels {
		v := schema.Absent
		if s, ok := set[l]; ok {
			v = s
		}
		labels = append(labels, vmclient.Label{Name: l, Value: v})
	}
	return vmclient.Series{Labels: labels, Samples: samples}
}

// Write stores hand-made series into the VictoriaMetrics at url, with the
// derived families' series the collector would write beside them
// (Derive); the caller flushes.
func Write(tb testing.TB, url string, series ...vmclient.Series) {
	tb.Helper()
	WriteTo(tb, vmclient.Config{URL: url}, series...)
}

// WriteTo is Write through a client of cfg: a cluster's vminsert, in
// cfg's tenant.
func WriteTo(tb testing.TB, cfg vmclient.Config, series ...vmclient.Series) {
	tb.Helper()
	c, err := vmclient.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	if err := c.Write(context.Background(), append(slices.Clone(series), Derive(series)...)); err != nil {
		tb.Fatalf("write %d hand-made series: %v", len(series), err)
	}
}
