package config

import (
	"fmt"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"

	"credkeep/internal/redact"
)

// KMS names where the master key lives (SPEC.md §11) and how to reach it.
// Secrets are redact types; files are paths, read when the KMS is set up.
type KMS struct {
	Provider string // local, aws, gcp, azure or kmip

	AWSKey, AWSRegion             string
	AWSAccessKeyID                string
	AWSSecretKey, AWSSessionToken redact.Secret
	GCPKey, GCPCredentials        string // key resource name; service-account JSON file
	AzureKey                      string // https://<vault>.vault.azure.net/keys/<name>[/<version>]
	AzureTenantID, AzureClientID  string
	AzureClientSecret             redact.Secret
	KMIPEndpoint, KMIPKeyID       string
	Endpoint, IdentityEndpoint    string       // host[:port] overrides (private endpoints, tests)
	TLSCA, TLSCert, TLSKey        string       // PEM files
	OldMasterKey                  redact.Bytes // CREDKEEP_OLD_MASTER_KEY: a local key being replaced (keys rewrap)
}

var (
	awsKeyARN = regexp.MustCompile(`^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)/[A-Za-z0-9/_-]+$`)
	gcpKey    = regexp.MustCompile(`^projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+(/cryptoKeyVersions/[^/]+)?$`)
	azureKey  = regexp.MustCompile(`^https://[^/]+/keys/[^/]+(/[^/]+)?$`)
)

func kmsConfig(get func(string, string) string) (KMS, error) {
	k := KMS{
		Provider:          get("CREDKEEP_KMS_PROVIDER", "local"),
		AWSKey:            get("CREDKEEP_KMS_AWS_KEY", ""),
		AWSRegion:         get("CREDKEEP_KMS_AWS_REGION", ""),
		AWSAccessKeyID:    get("AWS_ACCESS_KEY_ID", ""),
		AWSSecretKey:      redact.New(get("AWS_SECRET_ACCESS_KEY", "")),
		AWSSessionToken:   redact.New(get("AWS_SESSION_TOKEN", "")),
		GCPKey:            get("CREDKEEP_KMS_GCP_KEY", ""),
		GCPCredentials:    get("CREDKEEP_KMS_GCP_CREDENTIALS", ""),
		AzureKey:          get("CREDKEEP_KMS_AZURE_KEY", ""),
		AzureTenantID:     get("AZURE_TENANT_ID", ""),
		AzureClientID:     get("AZURE_CLIENT_ID", ""),
		AzureClientSecret: redact.New(get("AZURE_CLIENT_SECRET", "")),
		KMIPEndpoint:      get("CREDKEEP_KMS_KMIP_ENDPOINT", ""),
		KMIPKeyID:         get("CREDKEEP_KMS_KMIP_KEY_ID", ""),
		Endpoint:          get("CREDKEEP_KMS_ENDPOINT", ""),
		IdentityEndpoint:  get("CREDKEEP_KMS_IDENTITY_ENDPOINT", ""),
		TLSCA:             get("CREDKEEP_KMS_TLS_CA", ""),
		TLSCert:           get("CREDKEEP_KMS_TLS_CERT", ""),
		TLSKey:            get("CREDKEEP_KMS_TLS_KEY", ""),
	}
	required := func(name, v string) error {
		if v == "" {
			return bad(name, "required with CREDKEEP_KMS_PROVIDER=%s", k.Provider)
		}
		return nil
	}
	var errs []error
	switch k.Provider {
	case "local":
	case "aws":
		errs = append(errs, required("CREDKEEP_KMS_AWS_KEY", k.AWSKey), required("CREDKEEP_KMS_AWS_REGION", k.AWSRegion),
			required("AWS_ACCESS_KEY_ID", k.AWSAccessKeyID), required("AWS_SECRET_ACCESS_KEY", k.AWSSecretKey.Reveal()))
		if k.AWSKey != "" && !awsKeyARN.MatchString(k.AWSKey) {
			errs = append(errs, bad("CREDKEEP_KMS_AWS_KEY", "must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)"))
		}
	case "gcp":
		errs = append(errs, required("CREDKEEP_KMS_GCP_KEY", k.GCPKey), required("CREDKEEP_KMS_GCP_CREDENTIALS", k.GCPCredentials))
		if k.GCPKey != "" && !gcpKey.MatchString(k.GCPKey) {
			errs = append(errs, bad("CREDKEEP_KMS_GCP_KEY", "must be projects/P/locations/L/keyRings/R/cryptoKeys/K"))
		}
		errs = append(errs, readable("CREDKEEP_KMS_GCP_CREDENTIALS", k.GCPCredentials))
	case "azure":
		errs = append(errs, required("CREDKEEP_KMS_AZURE_KEY", k.AzureKey), required("AZURE_TENANT_ID", k.AzureTenantID),
			required("AZURE_CLIENT_ID", k.AzureClientID), required("AZURE_CLIENT_SECRET", k.AzureClientSecret.Reveal()))
		if k.AzureKey != "" && !azureKey.MatchString(k.AzureKey) {
			errs = append(errs, bad("CREDKEEP_KMS_AZURE_KEY", "must be https://<vault>.vault.azure.net/keys/<name>[/<version>]"))
		}
	case "kmip":
		errs = append(errs, required("CREDKEEP_KMS_KMIP_ENDPOINT", k.KMIPEndpoint),
			required("CREDKEEP_KMS_TLS_CERT", k.TLSCert), required("CREDKEEP_KMS_TLS_KEY", k.TLSKey))
		errs = append(errs, hostPort("CREDKEEP_KMS_KMIP_ENDPOINT", k.KMIPEndpoint))
	default:
		return KMS{}, bad("CREDKEEP_KMS_PROVIDER", "must be local, aws, gcp, azure or kmip")
	}
	errs = append(errs, hostPort("CREDKEEP_KMS_ENDPOINT", k.Endpoint), hostPort("CREDKEEP_KMS_IDENTITY_ENDPOINT", k.IdentityEndpoint),
		readable("CREDKEEP_KMS_TLS_CA", k.TLSCA), readable("CREDKEEP_KMS_TLS_CERT", k.TLSCert), readable("CREDKEEP_KMS_TLS_KEY", k.TLSKey))
	if (k.TLSCert == "") != (k.TLSKey == "") {
		errs = append(errs, bad("CREDKEEP_KMS_TLS_KEY", "CREDKEEP_KMS_TLS_CERT and CREDKEEP_KMS_TLS_KEY go together"))
	}
	for _, err := range errs {
		if err != nil {
			return KMS{}, err
		}
	}
	return k, nil
}

// hostPort checks an optional host[:port].
func hostPort(name, v string) error {
	if v == "" {
		return nil
	}
	host := v
	if strings.Contains(v, ":") {
		h, port, err := net.SplitHostPort(v)
		if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 1 || n > 65535 {
			return bad(name, "must be host or host:port")
		}
		host = h
	}
	if host == "" || strings.ContainsAny(host, "/ ") {
		return bad(name, "must be host or host:port")
	}
	return nil
}

// readable checks that an optional file can be read.
func readable(name, path string) error {
	if path == "" {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return bad(name, "%v", fmt.Errorf("cannot read the file: %w", err))
	}
	f.Close()
	return nil
}
