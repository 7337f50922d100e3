package autotasktest

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// fieldMeta is one entry of an entity's field metadata, as served by
// entityInformation/fields (docs/autotask-api.md §2.6).
type fieldMeta struct {
	Name       string
	DataType   string // string, integer, long, boolean, datetime
	Length     int
	Required   bool
	ReadOnly   bool
	NoQuery    bool // not queryable (§2.2: isOptedOutFromBulkEmail, solicitationOptOut, surveyOptOut)
	RefEntity  string
	CreateOnly bool // companyID on Contacts (§4.2, [I])
}

func (f *fieldMeta) wire() map[string]any {
	length := f.Length
	if f.DataType != "string" {
		length = 0
	}
	return map[string]any{
		"name": f.Name, "dataType": f.DataType, "length": length,
		"isRequired": f.Required, "isReadOnly": f.ReadOnly, "isQueryable": !f.NoQuery,
		"isReference": f.RefEntity != "", "referenceEntityType": f.RefEntity,
		"isPickList": false, "picklistValues": nil, "picklistParentValueField": "",
		"isSupportedWebhookField": true,
	}
}

// contactFields follows the Contacts field table of docs/autotask-api.md §2.2,
// restricted to the properties of the published contract's ContactModel
// (billingContact, found only in some newer descriptions, is left out).
var contactFields = []fieldMeta{
	{Name: "id", DataType: "long", ReadOnly: true},
	{Name: "companyID", DataType: "integer", Required: true, RefEntity: "Company", CreateOnly: true},
	{Name: "companyLocationID", DataType: "integer", RefEntity: "CompanyLocation"},
	{Name: "firstName", DataType: "string", Length: 50, Required: true},
	{Name: "middleInitial", DataType: "string", Length: 50},
	{Name: "lastName", DataType: "string", Length: 50, Required: true},
	{Name: "title", DataType: "string", Length: 50},
	{Name: "emailAddress", DataType: "string", Length: 254},
	{Name: "emailAddress2", DataType: "string", Length: 254},
	{Name: "emailAddress3", DataType: "string", Length: 254},
	{Name: "phone", DataType: "string", Length: 25},
	{Name: "extension", DataType: "string", Length: 10},
	{Name: "alternatePhone", DataType: "string", Length: 32},
	{Name: "mobilePhone", DataType: "string", Length: 25},
	{Name: "faxNumber", DataType: "string", Length: 25},
	{Name: "addressLine", DataType: "string", Length: 128},
	{Name: "addressLine1", DataType: "string", Length: 128},
	{Name: "additionalAddressInformation", DataType: "string", Length: 100},
	{Name: "city", DataType: "string", Length: 32},
	{Name: "state", DataType: "string", Length: 40},
	{Name: "zipCode", DataType: "string", Length: 16},
	{Name: "countryID", DataType: "integer", RefEntity: "Country"},
	{Name: "externalID", DataType: "string", Length: 50},
	{Name: "isActive", DataType: "integer", Required: true},
	{Name: "primaryContact", DataType: "boolean"},
	{Name: "receivesEmailNotifications", DataType: "boolean"},
	{Name: "isOptedOutFromBulkEmail", DataType: "boolean", NoQuery: true},
	{Name: "bulkEmailOptOutTime", DataType: "datetime", ReadOnly: true},
	{Name: "solicitationOptOut", DataType: "boolean", NoQuery: true},
	{Name: "solicitationOptOutTime", DataType: "datetime"},
	{Name: "surveyOptOut", DataType: "boolean", NoQuery: true},
	{Name: "namePrefix", DataType: "integer"},
	{Name: "nameSuffix", DataType: "integer"},
	{Name: "note", DataType: "string", Length: 50},
	{Name: "roomNumber", DataType: "string", Length: 50},
	{Name: "facebookUrl", DataType: "string", Length: 200},
	{Name: "linkedInUrl", DataType: "string", Length: 200},
	{Name: "twitterUrl", DataType: "string", Length: 200},
	{Name: "apiVendorID", DataType: "integer", ReadOnly: true},
	{Name: "impersonatorCreatorResourceID", DataType: "integer", ReadOnly: true},
	{Name: "createDate", DataType: "datetime", ReadOnly: true},
	{Name: "lastActivityDate", DataType: "datetime", ReadOnly: true},
	{Name: "lastModifiedDate", DataType: "datetime", ReadOnly: true},
}

// companyFields is the subset of Companies the emulator keeps (§2.3).
var companyFields = []fieldMeta{
	{Name: "id", DataType: "long", ReadOnly: true},
	{Name: "companyName", DataType: "string", Length: 100, Required: true},
	{Name: "companyNumber", DataType: "string", Length: 50},
	{Name: "companyType", DataType: "integer", Required: true},
	{Name: "countryID", DataType: "integer", RefEntity: "Country"},
	{Name: "isActive", DataType: "boolean"},
	{Name: "ownerResourceID", DataType: "integer", Required: true},
	{Name: "parentCompanyID", DataType: "integer", RefEntity: "Company"},
	{Name: "phone", DataType: "string", Length: 25, Required: true},
	{Name: "createDate", DataType: "datetime", ReadOnly: true},
	{Name: "lastActivityDate", DataType: "datetime", ReadOnly: true},
}

// countryFields follows the Countries table of §2.4.
var countryFields = []fieldMeta{
	{Name: "id", DataType: "long", ReadOnly: true},
	{Name: "countryCode", DataType: "string", Length: 2},
	{Name: "name", DataType: "string", Length: 50},
	{Name: "displayName", DataType: "string", Length: 100},
	{Name: "isActive", DataType: "boolean"},
	{Name: "isDefaultCountry", DataType: "boolean"},
	{Name: "addressFormatID", DataType: "long"},
	{Name: "invoiceTemplateID", DataType: "integer"},
	{Name: "quoteTemplateID", DataType: "integer"},
	{Name: "purchaseOrderTemplateID", DataType: "integer"},
}

// billingFields are the ContactBillingProductAssociations fields (the entity
// as generated from live metadata by the Anteris PHP client).
var billingFields = []fieldMeta{
	{Name: "id", DataType: "long", ReadOnly: true},
	{Name: "billingProductID", DataType: "integer", Required: true, RefEntity: "Product"},
	{Name: "contactID", DataType: "integer", Required: true, RefEntity: "Contact"},
	{Name: "effectiveDate", DataType: "datetime", Required: true},
	{Name: "expirationDate", DataType: "datetime"},
}

// record is one entity: canonical field name → value. Values are string,
// int64, bool, time.Time or nil.
type record map[string]any

type udf struct {
	Name  string  `json:"name"`
	Value *string `json:"value"`
}

// table holds the rows of one entity in ascending id order.
type table struct {
	entity  string // "Contact", for messages and entityInformation
	path    string // "Contacts", the URL segment
	fields  []fieldMeta
	byLower map[string]*fieldMeta
	rows    []record
	byID    map[int64]record
	nextID  int64
	udfs    map[int64][]udf // user-defined fields by row id
	hasUDF  bool            // the entity carries userDefinedFields (§2.5)
}

func newTable(entity, path string, fields []fieldMeta, firstID int64) *table {
	t := &table{entity: entity, path: path, fields: fields, byLower: map[string]*fieldMeta{},
		byID: map[int64]record{}, nextID: firstID, udfs: map[int64][]udf{},
		hasUDF: entity == "Contact" || entity == "Company"}
	for i := range fields {
		t.byLower[strings.ToLower(fields[i].Name)] = &fields[i]
	}
	return t
}

func (t *table) field(name string) *fieldMeta { return t.byLower[strings.ToLower(name)] }

// insert allocates the next id to r and appends it.
func (t *table) insert(r record) int64 {
	id := t.nextID
	t.nextID++
	r["id"] = id
	t.rows = append(t.rows, r)
	t.byID[id] = r
	return id
}

// blankRecord returns a record with every field present and nil.
func (t *table) blankRecord() record {
	r := make(record, len(t.fields))
	for _, f := range t.fields {
		r[f.Name] = nil
	}
	return r
}

// wireTime formats a time the way Autotask does: UTC, trimmed fraction, Z.
func wireTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.999Z") }

// parseTime accepts the date forms clients send in filters.
func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, msgf("%q is not a date", s)
}

// wire returns the JSON form of r, restricted to include when non-nil
// (id and, on entities with user-defined fields, userDefinedFields are
// always kept, §3.3).
func (t *table) wire(r record, include map[string]bool, omitEmptyUDF bool) map[string]any {
	out := make(map[string]any, len(r)+1)
	for _, f := range t.fields {
		if include != nil && !include[f.Name] && f.Name != "id" {
			continue
		}
		v := r[f.Name]
		if tm, ok := v.(time.Time); ok {
			v = wireTime(tm)
		}
		out[f.Name] = v
	}
	id, _ := r["id"].(int64)
	u := t.udfs[id]
	if t.hasUDF && (len(u) > 0 || !omitEmptyUDF) {
		if u == nil {
			u = []udf{}
		}
		out["userDefinedFields"] = u
	}
	return out
}

// convert converts a JSON value for field f. A nil result means null.
func convert(f *fieldMeta, raw json.RawMessage) (any, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, msgf("Error converting value for %s: %v", f.Name, err)
	}
	return convertValue(f, v)
}

func convertValue(f *fieldMeta, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch f.DataType {
	case "string":
		switch x := v.(type) {
		case string:
			return x, nil
		case float64:
			return strconv.FormatFloat(x, 'f', -1, 64), nil
		case int, int64:
			return fmt.Sprint(x), nil
		}
	case "integer", "long":
		switch x := v.(type) {
		case float64:
			if x == float64(int64(x)) {
				return int64(x), nil
			}
		case int:
			return int64(x), nil
		case int64:
			return x, nil
		case string:
			if n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64); err == nil {
				return n, nil
			}
		}
	case "boolean":
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case "datetime":
		switch x := v.(type) {
		case string:
			tm, err := parseTime(x)
			if err == nil {
				return tm, nil
			}
		case time.Time:
			return x.UTC(), nil
		}
	}
	return nil, msgf("Error converting value %v to type '%s' for field %s.", v, f.DataType, f.Name)
}

// wireMessage is an error whose text is a message the emulator answers
// with, worded like Autotask's (capitalized, with a full stop).
type wireMessage string

func (m wireMessage) Error() string { return string(m) }

// msgf formats a wireMessage.
func msgf(format string, args ...any) error { return wireMessage(fmt.Sprintf(format, args...)) }
