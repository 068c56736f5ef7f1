// Package models holds the plugin's data source settings and query model:
// what the frontend (plugin/src/types.ts) saves, parsed, defaulted and
// validated with errors a user can act on.
package models

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

// AuthType says how the plugin authenticates to VictoriaMetrics.
type AuthType string

// Authentication types (jsonData.authType).
const (
	// AuthNone sends no credentials.
	AuthNone AuthType = "none"
	// AuthBasic sends jsonData.basicAuthUser and
	// secureJsonData.basicAuthPassword as HTTP basic authentication.
	AuthBasic AuthType = "basic"
	// AuthBearer sends secureJsonData.bearerToken as
	// "Authorization: Bearer <token>".
	AuthBearer AuthType = "bearer"
)

// Keys of the secrets in secureJsonData.
const (
	SecretBasicAuthPassword = "basicAuthPassword"
	SecretBearerToken       = "bearerToken"
)

// Settings are a data source's settings: jsonData plus the decrypted
// secrets of secureJsonData.
type Settings struct {
	// URL is VictoriaMetrics' base URL: a single node
	// (http://victoriametrics:8428) or a cluster's vmselect root
	// (http://vmselect:8481, with Tenant) or its Prometheus API base
	// (http://vmselect:8481/select/0/prometheus). jsonData.url, or the
	// data source's top-level URL when that is empty.
	URL string `json:"url"`
	// Tenant is a VictoriaMetrics cluster tenant, accountID or
	// accountID:projectID; queries then go to URL/select/<tenant>/prometheus.
	Tenant string `json:"tenant"`
	// AuthType is none, basic or bearer. When jsonData leaves it out it is
	// inferred: basic with a basicAuthUser, bearer with a bearerToken,
	// else none.
	AuthType AuthType `json:"authType"`
	// BasicAuthUser is the user of basic authentication.
	BasicAuthUser string `json:"basicAuthUser"`
	// TLSSkipVerify accepts any server certificate (testing only).
	TLSSkipVerify bool `json:"tlsSkipVerify"`

	// Secrets come from secureJsonData; they never appear in errors or
	// logs, nor in JSON (json:"-"), nor in fmt output (Secrets.String).
	Secrets Secrets `json:"-"`
}

// Secrets are the decrypted secureJsonData.
type Secrets struct {
	// BasicAuthPassword is secureJsonData.basicAuthPassword.
	BasicAuthPassword string
	// BearerToken is secureJsonData.bearerToken.
	BearerToken string
}

// String implements fmt.Stringer without the secrets' values.
func (s Secrets) String() string {
	set := func(v string) string {
		if v == "" {
			return "unset"
		}
		return "set"
	}
	return fmt.Sprintf("{basicAuthPassword: %s, bearerToken: %s}", set(s.BasicAuthPassword), set(s.BearerToken))
}

// GoString implements fmt.GoStringer, so that %#v hides the secrets too.
func (s Secrets) GoString() string { return s.String() }

// LoadSettings reads a data source's settings from its jsonData, top-level
// URL and decrypted secureJsonData, and validates them (see Validate).
func LoadSettings(ds backend.DataSourceInstanceSettings) (Settings, error) {
	var s Settings
	if len(ds.JSONData) > 0 && string(ds.JSONData) != "null" {
		if err := json.Unmarshal(ds.JSONData, &s); err != nil {
			return Settings{}, fmt.Errorf("data source settings: jsonData is not the JSON object the settings page saves: %w", err)
		}
	}
	s.URL = strings.TrimSpace(s.URL)
	if s.URL == "" {
		s.URL = strings.TrimSpace(ds.URL)
	}
	s.Tenant = strings.TrimSpace(s.Tenant)
	s.BasicAuthUser = strings.TrimSpace(s.BasicAuthUser)
	s.Secrets = Secrets{
		BasicAuthPassword: ds.DecryptedSecureJSONData[SecretBasicAuthPassword],
		BearerToken:       ds.DecryptedSecureJSONData[SecretBearerToken],
	}
	if s.AuthType == "" {
		switch {
		case s.BasicAuthUser != "":
			s.AuthType = AuthBasic
		case s.Secrets.BearerToken != "":
			s.AuthType = AuthBearer
		default:
			s.AuthType = AuthNone
		}
	}
	if err := s.Validate(); err != nil {
		return s, err
	}
	return s, nil
}

// tenantRE matches accountID or accountID:projectID.
var tenantRE = regexp.MustCompile(`^(\d{1,10})(?::(\d{1,10}))?$`)

// Validate checks the settings: an http(s) URL without credentials, query
// or fragment; a tenant of 32-bit integers (then a URL without /select/);
// a known authentication type with what it needs.
func (s Settings) Validate() error {
	if s.URL == "" {
		return errors.New("data source settings: the VictoriaMetrics URL is empty: set it, e.g. http://victoriametrics:8428 or a cluster's vmselect http://vmselect:8481")
	}
	u, err := url.Parse(s.URL)
	if err != nil {
		// url.Error would repeat the whole URL, which may hold a password.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("data source settings: the VictoriaMetrics URL is not a URL: %v", err)
	}
	switch {
	case u.User != nil:
		return fmt.Errorf("data source settings: the VictoriaMetrics URL %s holds credentials: remove them and choose basic authentication or a bearer token", u.Redacted())
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("data source settings: the VictoriaMetrics URL %s: want an http:// or https:// URL", u)
	case u.Host == "":
		return fmt.Errorf("data source settings: the VictoriaMetrics URL %s has no host", u)
	case u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("data source settings: the VictoriaMetrics URL %s: remove the query string or fragment", u.Redacted())
	}
	if s.Tenant != "" {
		m := tenantRE.FindStringSubmatch(s.Tenant)
		if m == nil || !uint32Text(m[1]) || (m[2] != "" && !uint32Text(m[2])) {
			return fmt.Errorf("data source settings: tenant %q: want accountID or accountID:projectID, 32-bit unsigned integers such as 0 or 12:34", s.Tenant)
		}
		if strings.Contains(u.Path, "/select/") {
			return fmt.Errorf("data source settings: the URL %s already names a tenant (/select/…): with a tenant set, give vmselect's root URL, e.g. http://vmselect:8481", u)
		}
	}
	switch s.AuthType {
	case AuthNone:
	case AuthBasic:
		if s.BasicAuthUser == "" {
			return errors.New("data source settings: basic authentication needs a user: set it, or choose no authentication")
		}
		if s.Secrets.BasicAuthPassword == "" {
			return errors.New("data source settings: basic authentication needs a password: set it, or choose no authentication")
		}
	case AuthBearer:
		if s.Secrets.BearerToken == "" {
			return errors.New("data source settings: bearer token authentication needs a token: set it, or choose no authentication")
		}
	default:
		return fmt.Errorf("data source settings: unknown authentication type %q; valid types: none, basic, bearer", s.AuthType)
	}
	return nil
}

// uint32Text reports whether s, all digits, fits in 32 bits.
func uint32Text(s string) bool {
	_, err := strconv.ParseUint(s, 10, 32)
	return err == nil
}

// APIURL returns the URL the report engine queries: URL, or with a tenant
// the cluster's URL/select/<tenant>/prometheus.
func (s Settings) APIURL() string {
	base := strings.TrimRight(s.URL, "/")
	if s.Tenant == "" {
		return base
	}
	return base + "/select/" + s.Tenant + "/prometheus"
}

// Credentials returns the basic auth user and password, or the bearer
// token, that AuthType calls for (the others empty).
func (s Settings) Credentials() (user, password, token string) {
	switch s.AuthType {
	case AuthBasic:
		return s.BasicAuthUser, s.Secrets.BasicAuthPassword, ""
	case AuthBearer:
		return "", "", s.Secrets.BearerToken
	}
	return "", "", ""
}

// SecretValues returns every secret string the settings hold, for
// redaction: the password, the token, and the basic auth header's
// base64 text.
func (s Settings) SecretValues() []string {
	var out []string
	for _, v := range []string{s.Secrets.BasicAuthPassword, s.Secrets.BearerToken} {
		if v != "" {
			out = append(out, v)
		}
	}
	if s.Secrets.BasicAuthPassword != "" {
		out = append(out, base64.StdEncoding.EncodeToString([]byte(s.BasicAuthUser+":"+s.Secrets.BasicAuthPassword)))
	}
	return out
}
