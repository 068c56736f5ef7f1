package reporttest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
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

// SelectProxy serves a cluster's vmselect paths for one tenant
// (/select/TENANT/prometheus/api/v1/..., and /flags) in front of the single
// node at vmURL, refusing every other path with 400. It returns its URL
// and a function listing the paths asked for so far.
func SelectProxy(tb testing.TB, vmURL, tenant string) (string, func() []string) {
	tb.Helper()
	target, err := url.Parse(vmURL)
	if err != nil {
		tb.Fatal(err)
	}
	prefix := "/select/" + tenant + "/prometheus"
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		r.Out.URL.Path, r.Out.URL.RawPath = strings.TrimPrefix(r.In.URL.Path, prefix), ""
	}}
	var mu sync.Mutex
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		if p := r.URL.Path; strings.HasPrefix(p, prefix+"/api/v1/") || p == "/flags" {
			proxy.ServeHTTP(w, r)
			return
		}
		http.Error(w, "unsupported path "+r.URL.Path, http.StatusBadRequest)
	}))
	tb.Cleanup(srv.Close)
	return srv.URL, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(paths)
	}
}
