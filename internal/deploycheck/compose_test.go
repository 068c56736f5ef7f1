package deploycheck

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"

	"github.com/vpcflow/vpcflow/collector/config"
	"github.com/vpcflow/vpcflow/internal/dashboards"
)

// compose is the part of the Compose file format docker-compose.yml uses.
type compose struct {
	Name     string                    `yaml:"name"`
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeService struct {
	Image       string   `yaml:"image"`
	Build       any      `yaml:"build"`
	Entrypoint  []string `yaml:"entrypoint"`
	Command     []string `yaml:"command"`
	Environment any      `yaml:"environment"`
	Volumes     []any    `yaml:"volumes"`
	Ports       []string `yaml:"ports"`
	Profiles    []string `yaml:"profiles"`
	DependsOn   any      `yaml:"depends_on"`
	Restart     string   `yaml:"restart"`
}

// dependsOn returns the services a service waits for, with the condition
// (service_started for the short syntax).
func (s composeService) dependsOn(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	switch d := s.DependsOn.(type) {
	case nil:
	case []any:
		for _, name := range d {
			out[fmt.Sprint(name)] = "service_started"
		}
	case map[string]any:
		for name, v := range d {
			m, _ := v.(map[string]any)
			cond, _ := m["condition"].(string)
			if cond == "" {
				cond = "service_started"
			}
			out[name] = cond
		}
	default:
		t.Errorf("depends_on %v", d)
	}
	return out
}

// mount is a volume entry in either syntax.
type mount struct {
	source, target string
	bind           bool
	readOnly       bool
}

func (s composeService) mounts(t *testing.T) []mount {
	t.Helper()
	return s.mountsEnv(t, nil)
}

// mountsEnv is mounts with the variables of env set (an --env-file).
func (s composeService) mountsEnv(t *testing.T, env map[string]string) []mount {
	t.Helper()
	var out []mount
	for _, v := range s.Volumes {
		switch v := v.(type) {
		case string:
			parts := strings.Split(interpolateEnv(t, v, env), ":")
			m := mount{source: parts[0], target: parts[1]}
			m.bind = strings.HasPrefix(m.source, ".") || strings.HasPrefix(m.source, "/")
			m.readOnly = len(parts) > 2 && parts[2] == "ro"
			out = append(out, m)
		case map[string]any:
			ro, _ := v["read_only"].(bool)
			out = append(out, mount{source: interpolateEnv(t, fmt.Sprint(v["source"]), env), target: fmt.Sprint(v["target"]), bind: v["type"] == "bind", readOnly: ro})
		default:
			t.Errorf("volume entry %v", v)
		}
	}
	return out
}

func (s composeService) mountAt(t *testing.T, target string) (mount, bool) {
	return s.mountAtEnv(t, target, nil)
}

// mountAtEnv is mountAt with the variables of env set (an --env-file).
func (s composeService) mountAtEnv(t *testing.T, target string, env map[string]string) (mount, bool) {
	for _, m := range s.mountsEnv(t, env) {
		if m.target == target {
			return m, true
		}
	}
	return mount{}, false
}

// env returns the service's environment (list or map syntax); a variable
// passed from the caller's environment has the value "".
func (s composeService) env(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	switch e := s.Environment.(type) {
	case nil:
	case map[string]any:
		for k, v := range e {
			out[k] = fmt.Sprint(v)
		}
	case []any:
		for _, kv := range e {
			k, v, _ := strings.Cut(fmt.Sprint(kv), "=")
			out[k] = v
		}
	default:
		t.Errorf("environment %v", e)
	}
	return out
}

// interpolation matches Compose's ${VAR}, ${VAR:-default} and ${VAR:?error}.
var interpolation = regexp.MustCompile(`\$\{(\w+)(?::?([-?])([^}]*))?\}`)

// interpolate resolves Compose variables as if none were set: defaults
// are used, required ones (:?) must say what to set.
func interpolate(t *testing.T, s string) string {
	t.Helper()
	return interpolateEnv(t, s, nil)
}

// interpolateEnv is interpolate with the variables of env set.
func interpolateEnv(t *testing.T, s string, env map[string]string) string {
	t.Helper()
	return interpolation.ReplaceAllStringFunc(s, func(m string) string {
		g := interpolation.FindStringSubmatch(m)
		if v, ok := env[g[1]]; ok {
			return v
		}
		switch g[2] {
		case "-":
			return g[3]
		case "?":
			if strings.TrimSpace(g[3]) == "" {
				t.Errorf("%s: a required variable should say what to set", m)
			}
			return "<" + g[1] + ">"
		}
		t.Errorf("%s: give a default (${%s:-…}) or require it (${%s:?…})", m, g[1], g[1])
		return ""
	})
}

func readCompose(t *testing.T) compose {
	t.Helper()
	var c compose
	if err := yaml.Unmarshal(ReadFile(t, "docker-compose.yml"), &c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	return c
}

// pinnedImage matches an image reference with a tag that is not latest.
var pinnedImage = regexp.MustCompile(`^[a-z0-9./_-]+:([A-Za-z0-9._-]+)$`)

// TestCompose checks docker-compose.yml's structure: services and
// profiles, pinned images, loopback ports, VictoriaMetrics' flags and
// scrape configuration, the plugin mount and its unsigned-plugin setting,
// the provisioning mounts, the collector's configuration, and the cluster
// profile with the collector and Grafana pointed at it (checkCluster).
func TestCompose(t *testing.T) {
	c := readCompose(t)
	core := []string{"victoriametrics", "collector", "grafana", "grafana-plugin-check"}
	demo := []string{"s3", "demo-generator"}
	cluster := []string{"vmstorage-1", "vmstorage-2", "vminsert", "vmselect"}
	for _, name := range slices.Concat(core, demo, cluster) {
		s, ok := c.Services[name]
		if !ok {
			t.Errorf("no service %s", name)
			continue
		}
		wantProfiles := []string(nil)
		if slices.Contains(demo, name) {
			wantProfiles = []string{"demo"}
		}
		if slices.Contains(cluster, name) {
			wantProfiles = []string{"cluster"}
		}
		if !slices.Equal(s.Profiles, wantProfiles) {
			t.Errorf("%s: profiles %v, want %v", name, s.Profiles, wantProfiles)
		}
	}
	for name, s := range c.Services {
		m := pinnedImage.FindStringSubmatch(s.Image)
		if m == nil || m[1] == "latest" {
			t.Errorf("%s: image %q: want a pinned tag, not latest", name, s.Image)
		}
		for _, p := range s.Ports {
			if host, _, ok := strings.Cut(p, ":"); !ok || net.ParseIP(host) == nil || !net.ParseIP(host).IsLoopback() {
				t.Errorf("%s: port %q does not bind to 127.0.0.1", name, p)
			}
		}
		for dep := range s.dependsOn(t) {
			if _, ok := c.Services[dep]; !ok {
				t.Errorf("%s: depends on unknown service %s", name, dep)
			}
		}
		for _, m := range s.mounts(t) {
			if m.bind && !strings.Contains(m.source, "plugin/dist") {
				if _, err := os.Stat(RepoPath(m.source)); err != nil {
					t.Errorf("%s: mount source %s: %v", name, m.source, err)
				}
			}
			if !m.bind {
				if _, ok := c.Volumes[m.source]; !ok {
					t.Errorf("%s: volume %s is not declared", name, m.source)
				}
			}
		}
	}

	t.Run("victoriametrics", func(t *testing.T) { checkVictoriaMetrics(t, c) })
	t.Run("grafana", func(t *testing.T) { checkGrafana(t, c) })
	t.Run("grafana-plugin-check", func(t *testing.T) { checkPluginCheck(t, c) })
	t.Run("collector", func(t *testing.T) { checkCollector(t, c) })
	t.Run("demo", func(t *testing.T) { checkDemo(t, c) })
	t.Run("cluster", func(t *testing.T) { checkCluster(t, c) })
}

func checkVictoriaMetrics(t *testing.T, c compose) {
	vm := c.Services["victoriametrics"]
	if vm.Image != "victoriametrics/victoria-metrics:v1.151.0" {
		t.Errorf("image %s, want the version the tests run (v1.151.0)", vm.Image)
	}
	flags := map[string]string{}
	for _, arg := range vm.Command {
		k, v, _ := strings.Cut(interpolate(t, arg), "=")
		flags[k] = v
	}
	if flags["-dedup.minScrapeInterval"] != "1ms" {
		t.Errorf("-dedup.minScrapeInterval=%q: the collector needs 1ms", flags["-dedup.minScrapeInterval"])
	}
	if flags["-retentionPeriod"] == "" || flags["-storageDataPath"] == "" {
		t.Errorf("flags %v: want -retentionPeriod and -storageDataPath", flags)
	}
	scrape := flags["-promscrape.config"]
	m, ok := vm.mountAt(t, scrape)
	if !ok || filepath.Clean(m.source) != filepath.Join("deploy", "victoriametrics", "scrape.yml") {
		t.Errorf("-promscrape.config=%s is not deploy/victoriametrics/scrape.yml mounted: %+v", scrape, m)
	}
}

func checkGrafana(t *testing.T, c compose) {
	g := c.Services["grafana"]
	if !regexp.MustCompile(`^grafana/grafana:12\.\d+\.\d+$`).MatchString(g.Image) {
		t.Errorf("image %s: want a Grafana 12 release, as the plugin's @grafana packages", g.Image)
	}
	env := g.env(t)
	if v := env["GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS"]; v != dashboards.PluginType {
		t.Errorf("GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS=%q, want exactly %s", v, dashboards.PluginType)
	}
	if pw := env["GF_SECURITY_ADMIN_PASSWORD"]; !regexp.MustCompile(`^\$\{\w+:[?-].+\}$`).MatchString(pw) {
		t.Errorf("GF_SECURITY_ADMIN_PASSWORD=%q: want it from the environment (${VAR:?…} or ${VAR:-default})", pw)
	}
	plugin, ok := g.mountAt(t, "/var/lib/grafana/plugins/"+dashboards.PluginType)
	if !ok || filepath.Clean(plugin.source) != filepath.Join("plugin", "dist") || !plugin.readOnly {
		t.Errorf("plugin mount %+v: want ./plugin/dist read-only at /var/lib/grafana/plugins/%s", plugin, dashboards.PluginType)
	}
	for target, source := range map[string]string{
		"/etc/grafana/provisioning/datasources": "provisioning/datasources",
		"/etc/grafana/provisioning/dashboards":  "provisioning/dashboards",
		dashboardsPath:                          "dashboards",
	} {
		m, ok := g.mountAt(t, target)
		if !ok || filepath.Clean(m.source) != source || !m.readOnly {
			t.Errorf("mount at %s: %+v, want ./%s read-only", target, m, source)
		}
	}
	// Every rule file is mounted into the alerting provisioning folder.
	rules, _ := filepath.Glob(RepoPath("provisioning", "alerting", "*.yaml"))
	if len(rules) == 0 {
		t.Error("no alert rule files")
	}
	for _, r := range rules {
		name := filepath.Base(r)
		m, ok := g.mountAt(t, "/etc/grafana/provisioning/alerting/"+name)
		if !ok || filepath.Clean(m.source) != filepath.Join("provisioning", "alerting", name) {
			t.Errorf("provisioning/alerting/%s is not mounted into /etc/grafana/provisioning/alerting: %+v", name, m)
		}
	}
	if home := env["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]; home != "" {
		if dir, file := filepath.Split(home); filepath.Clean(dir) != dashboardsPath || !fileExists(RepoPath("dashboards", file)) {
			t.Errorf("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH=%s is not a generated dashboard", home)
		}
	}
}

// checkPluginCheck: Grafana waits for grafana-plugin-check, which looks
// at the same plugin folder and ends with an error saying to build the
// plugin unless it holds the frontend and the Go backend for the machine.
// The script runs here with /bin/sh on folders as the builds leave them.
func checkPluginCheck(t *testing.T, c compose) {
	g, check := c.Services["grafana"], c.Services["grafana-plugin-check"]
	if cond := g.dependsOn(t)["grafana-plugin-check"]; cond != "service_completed_successfully" {
		t.Errorf("grafana waits for grafana-plugin-check with %q, want service_completed_successfully", cond)
	}
	if check.Image != g.Image {
		t.Errorf("image %s: want Grafana's (%s), already pulled", check.Image, g.Image)
	}
	if check.Restart != "no" {
		t.Errorf("restart %q: want \"no\", it runs once", check.Restart)
	}
	target := "/var/lib/grafana/plugins/" + dashboards.PluginType
	m, ok := check.mountAt(t, target)
	if gm, _ := g.mountAt(t, target); !ok || m != gm {
		t.Errorf("plugin mount %+v: want Grafana's %+v", m, gm)
	}
	if dir := check.env(t)["PLUGIN_DIR"]; dir != target {
		t.Errorf("PLUGIN_DIR=%q, want the plugin folder %s", dir, target)
	}
	if !slices.Equal(check.Entrypoint, []string{"/bin/sh", "-c"}) || len(check.Command) != 1 {
		t.Fatalf("entrypoint %q command %q: want /bin/sh -c SCRIPT", check.Entrypoint, check.Command)
	}
	// Compose reads $VAR and ${VAR} as its own variables: the script's
	// are written $$.
	if bare := regexp.MustCompile(`\$[^$]|\$$`).FindString(strings.ReplaceAll(check.Command[0], "$$", "")); bare != "" {
		t.Errorf("the script has a $ that Compose would interpolate: %q", bare)
	}
	script := strings.ReplaceAll(check.Command[0], "$$", "$")

	arch := map[string]string{"amd64": "amd64", "arm64": "arm64"}[runtime.GOARCH]
	if arch == "" {
		t.Skipf("the check names the backend for amd64 and arm64 only, not %s", runtime.GOARCH)
	}
	var pj struct{ Executable string }
	if err := json.Unmarshal(ReadFile(t, "plugin", "src", "plugin.json"), &pj); err != nil || pj.Executable == "" {
		t.Fatalf("plugin/src/plugin.json: executable %q, %v", pj.Executable, err)
	}
	backend := pj.Executable + "_linux_" + arch
	f := func(files map[string]os.FileMode, ok bool, want ...string) {
		t.Helper()
		dir := t.TempDir()
		for name, mode := range files {
			data := []byte("x")
			if name == "plugin.json" {
				data = ReadFile(t, "plugin", "src", "plugin.json")
			}
			if err := os.WriteFile(filepath.Join(dir, name), data, mode); err != nil {
				t.Fatal(err)
			}
		}
		cmd := exec.Command("/bin/sh", "-c", script)
		cmd.Env = append(os.Environ(), "PLUGIN_DIR="+dir)
		out, err := cmd.CombinedOutput()
		if (err == nil) != ok {
			t.Errorf("files %v: error %v, want ok %v\n%s", files, err, ok, out)
		}
		for _, w := range want {
			if !strings.Contains(string(out), w) {
				t.Errorf("files %v: no %q in:\n%s", files, w, out)
			}
		}
	}
	f(nil, false, "no plugin.json", "go tool mage build")
	f(map[string]os.FileMode{"plugin.json": 0o644}, false, "no frontend", "go tool mage build")
	// As `go tool mage test` leaves it.
	f(map[string]os.FileMode{"plugin.json": 0o644, "module.js": 0o644}, false, "not the Go backend "+backend, "go tool mage build")
	f(map[string]os.FileMode{"plugin.json": 0o644, "module.js": 0o644, pj.Executable + "_linux_other": 0o755}, false, backend)
	f(map[string]os.FileMode{"plugin.json": 0o644, "module.js": 0o644, backend: 0o644}, false, "permission")
	// As `go tool mage build` leaves it.
	f(map[string]os.FileMode{"plugin.json": 0o644, "module.js": 0o644, backend: 0o755}, true, backend)
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func checkCollector(t *testing.T, c compose) {
	col := c.Services["collector"]
	if !slices.Equal(col.Command[:2], []string{"run", "--config"}) {
		t.Fatalf("command %v: want run --config FILE", col.Command)
	}
	cfgPath := col.Command[2]
	m, ok := col.mountAt(t, cfgPath)
	if !ok {
		t.Fatalf("the configuration %s is not mounted", cfgPath)
	}
	cfg := loadConfig(t, m.source)
	state, ok := col.mountAt(t, cfg.StateDir)
	if !ok || state.bind {
		t.Errorf("state_dir %s is not on a volume: %+v", cfg.StateDir, state)
	}
	checkListen(t, m.source, cfg, c)

	build, _ := col.Build.(map[string]any)
	if build["dockerfile"] != "collector/Dockerfile" || build["target"] != "collector" {
		t.Errorf("build %v: want collector/Dockerfile, target collector", col.Build)
	}
}

// loadConfig reads a collector configuration of the repository with
// config.Parse, as the collector does.
func loadConfig(t *testing.T, path string) *config.Config {
	t.Helper()
	cfg, err := config.Parse(ReadFile(t, path), "/etc/vpcflow")
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return cfg
}

// checkListen: the status server listens on every interface of the
// container, on the port VictoriaMetrics scrapes at the collector service.
func checkListen(t *testing.T, where string, cfg *config.Config, c compose) {
	t.Helper()
	host, port, err := net.SplitHostPort(cfg.Server.Listen)
	if err != nil || (host != "0.0.0.0" && host != "") {
		t.Errorf("%s: server.listen %q: want 0.0.0.0:PORT, for VictoriaMetrics to scrape", where, cfg.Server.Listen)
	}
	if !strings.HasPrefix(cfg.Storage.URL, "http://victoriametrics:") {
		t.Errorf("%s: storage.url %q: want the victoriametrics service", where, cfg.Storage.URL)
	}
	var targets []string
	for _, sc := range ReadScrapeConfig(t).ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			targets = append(targets, st.Targets...)
		}
	}
	if !slices.Contains(targets, net.JoinHostPort("collector", port)) {
		t.Errorf("%s: listens on port %s; the scrape targets are %v", where, port, targets)
	}
	if _, ok := c.Services["collector"]; !ok {
		t.Error("no collector service to scrape")
	}
	published := false
	for _, p := range c.Services["collector"].Ports {
		published = published || strings.HasSuffix(p, ":"+port)
	}
	if !published {
		t.Errorf("%s: port %s is not published", where, port)
	}
}

func checkDemo(t *testing.T, c compose) {
	s3, gen := c.Services["s3"], c.Services["demo-generator"]
	if s3.Image != "versity/versitygw:v1.8.0" {
		t.Errorf("s3 image %s, want the versitygw version the tests run (v1.8.0)", s3.Image)
	}
	// versitygw [global flags] posix DIR, its data on a volume.
	i := slices.Index(s3.Command, "posix")
	pi := slices.Index(s3.Command, "--port")
	if i < 0 || i+1 >= len(s3.Command) || pi < 0 || pi > i {
		t.Fatalf("s3 command %v: want --port ADDR posix DIR", s3.Command)
	}
	if m, ok := s3.mountAt(t, s3.Command[i+1]); !ok || m.bind {
		t.Errorf("s3: %s is not on a volume", s3.Command[i+1])
	}
	_, s3Port, err := net.SplitHostPort(s3.Command[pi+1])
	if err != nil {
		t.Fatalf("s3 --port %s: %v", s3.Command[pi+1], err)
	}
	s3env, genEnv := s3.env(t), gen.env(t)

	// The shipped collector configuration collects the demo's bucket.
	cfgPath := filepath.Join("deploy", "collector", "collector.yaml")
	cfg := loadConfig(t, cfgPath)
	if len(cfg.Sources) != 1 {
		t.Fatalf("%s: %d sources, want the demo's", cfgPath, len(cfg.Sources))
	}
	src := cfg.Sources[0]
	if want := "http://s3:" + s3Port; src.Endpoint != want || !src.PathStyle {
		t.Errorf("%s: endpoint %q path_style %v, want %s with path-style", cfgPath, src.Endpoint, src.PathStyle, want)
	}
	if genEnv["AWS_ENDPOINT_URL"] != src.Endpoint {
		t.Errorf("demo-generator: AWS_ENDPOINT_URL %q, want %s", genEnv["AWS_ENDPOINT_URL"], src.Endpoint)
	}
	if src.Bucket != genEnv["DEMO_BUCKET"] {
		t.Errorf("%s: bucket %q, the generator delivers into %q", cfgPath, src.Bucket, genEnv["DEMO_BUCKET"])
	}
	key, secret, _, err := src.Credentials.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range [][3]string{
		{"access key", key, s3env["ROOT_ACCESS_KEY_ID"]},
		{"secret", secret, s3env["ROOT_SECRET_ACCESS_KEY"]},
		{"generator access key", genEnv["AWS_ACCESS_KEY_ID"], s3env["ROOT_ACCESS_KEY_ID"]},
		{"generator secret", genEnv["AWS_SECRET_ACCESS_KEY"], s3env["ROOT_SECRET_ACCESS_KEY"]},
	} {
		if kv[1] == "" || kv[1] != kv[2] {
			t.Errorf("%s %q, the S3 server has %q", kv[0], kv[1], kv[2])
		}
	}
	build, _ := gen.Build.(map[string]any)
	if build["dockerfile"] != "collector/Dockerfile" || build["target"] != "demo" {
		t.Errorf("demo-generator build %v: want collector/Dockerfile, target demo", gen.Build)
	}
	if _, ok := gen.dependsOn(t)["s3"]; !ok {
		t.Errorf("demo-generator depends on %v, want s3", gen.DependsOn)
	}
}

// TestDockerfile checks collector/Dockerfile: a Go build stage on the
// module's Go version, the collector stage running as a non-root user,
// the demo stage, and that what it copies exists and is in the build
// context (.dockerignore).
func TestDockerfile(t *testing.T) {
	src := string(ReadFile(t, "collector", "Dockerfile"))
	stages := map[string][]string{}
	var order []string
	stage := ""
	for _, line := range strings.Split(src, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if f := strings.Fields(line); strings.EqualFold(f[0], "FROM") {
			stage = f[len(f)-1]
			if len(f) < 4 {
				stage = "final"
			}
			order = append(order, stage)
		}
		stages[stage] = append(stages[stage], line)
	}
	for _, s := range []string{"build", "collector", "demo"} {
		if _, ok := stages[s]; !ok {
			t.Fatalf("no stage %s (stages %v)", s, order)
		}
	}
	goMod := string(ReadFile(t, "go.mod"))
	goVersion := regexp.MustCompile(`(?m)^go (\S+)$`).FindStringSubmatch(goMod)
	if goVersion == nil || !strings.Contains(src, "ARG GO_VERSION="+goVersion[1]) {
		t.Errorf("the build stage's Go version is not go.mod's %v", goVersion)
	}
	user := ""
	for _, line := range stages["collector"] {
		if u, ok := strings.CutPrefix(line, "USER "); ok {
			user = u
		}
	}
	if user == "" || user == "root" || strings.HasPrefix(user, "0") {
		t.Errorf("the collector stage runs as %q: want a non-root user", user)
	}
	ignore := strings.Split(string(ReadFile(t, ".dockerignore")), "\n")
	for _, lines := range stages {
		for _, line := range lines {
			f := strings.Fields(line)
			if f[0] != "COPY" || strings.Contains(line, "--from=") {
				continue
			}
			for _, p := range f[1 : len(f)-1] {
				p = strings.TrimSuffix(p, "/")
				if !fileExists(RepoPath(p)) {
					t.Errorf("COPY %s: no such file", p)
				}
				if !inContext(ignore, p) {
					t.Errorf("COPY %s: .dockerignore leaves it out of the build context", p)
				}
			}
		}
	}
}

// inContext reports whether a .dockerignore that starts by excluding
// everything (*) lets path in again: a !pattern naming it or a folder
// above it.
func inContext(ignore []string, path string) bool {
	for _, line := range ignore {
		dir, ok := strings.CutPrefix(strings.TrimSpace(line), "!")
		dir = strings.TrimSuffix(dir, "/")
		if ok && (path == dir || strings.HasPrefix(path, dir+"/")) {
			return true
		}
	}
	return false
}
