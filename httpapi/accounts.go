package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
)

// Account is one set of credentials and the namespace its requests act in. Every queue an
// account creates or sees lives in its namespace; other accounts' queues are invisible.
type Account struct {
	Namespace string `json:"namespace"`
	SecretID  string `json:"secretId"`
	SecretKey string `json:"secretKey"`
}

// LoadAccounts reads a JSON array of accounts from path, e.g.
//
//	[{"namespace": "team-a", "secretId": "AKIDa…", "secretKey": "…"}]
//
// and validates it: every field non-empty, secretIds unique, namespaces unique. Unknown
// fields are refused (a misspelt field would otherwise silently become an empty one).
func LoadAccounts(path string) ([]Account, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("httpapi: accounts: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var accounts []Account
	if err := dec.Decode(&accounts); err != nil {
		return nil, fmt.Errorf("httpapi: accounts file %s: %w", path, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("httpapi: accounts file %s: trailing data after the JSON array", path)
	}
	if err := validateAccounts(accounts); err != nil {
		return nil, fmt.Errorf("httpapi: accounts file %s: %w", path, err)
	}
	return accounts, nil
}

// validateAccounts checks the rules LoadAccounts documents.
func validateAccounts(accounts []Account) error {
	ids := make(map[string]int, len(accounts))
	namespaces := make(map[string]int, len(accounts))
	for i, a := range accounts {
		switch {
		case a.Namespace == "":
			return fmt.Errorf("account %d: empty namespace", i)
		case a.SecretID == "":
			return fmt.Errorf("account %d: empty secretId", i)
		case a.SecretKey == "":
			return fmt.Errorf("account %d: empty secretKey", i)
		}
		if j, dup := ids[a.SecretID]; dup {
			return fmt.Errorf("accounts %d and %d: duplicate secretId %q", j, i, a.SecretID)
		}
		if j, dup := namespaces[a.Namespace]; dup {
			return fmt.Errorf("accounts %d and %d: duplicate namespace %q", j, i, a.Namespace)
		}
		ids[a.SecretID] = i
		namespaces[a.Namespace] = i
	}
	return nil
}
