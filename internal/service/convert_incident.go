package service

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/defender"
)

// incidentToProto converts a domain incident; tenant is the canonical tenant
// of resource names. Evidence details that cannot be represented are dropped
// rather than failing the whole read (see detailsToStruct).
func incidentToProto(tenant string, in *defender.Incident) *defenderv1.Incident {
	out := &defenderv1.Incident{
		Name:              incidentName(tenant, in.ID),
		Id:                in.ID,
		DisplayName:       in.DisplayName,
		Description:       in.Description,
		Status:            toProtoEnum(incidentStatuses, in.Status, defenderv1.IncidentStatus_INCIDENT_STATUS_UNKNOWN),
		StatusRaw:         in.StatusRaw,
		Severity:          toProtoEnum(severities, in.Severity, defenderv1.Severity_SEVERITY_UNKNOWN),
		SeverityRaw:       in.SeverityRaw,
		Classification:    toProtoEnum(classifications, in.Classification, defenderv1.Classification_CLASSIFICATION_UNKNOWN),
		ClassificationRaw: in.ClassificationRaw,
		Determination:     toProtoEnum(determinations, in.Determination, defenderv1.Determination_DETERMINATION_UNKNOWN),
		DeterminationRaw:  in.DeterminationRaw,
		AssignedTo:        in.AssignedTo,
		Tags:              in.Tags,
		SystemTags:        in.SystemTags,
		WebUrl:            in.WebURL,
		CreateTime:        timestampOrNil(in.CreateTime),
		UpdateTime:        timestampOrNil(in.UpdateTime),
		TenantId:          in.TenantID,
		DetectionSource:   in.DetectionSource,
		PriorityScore:     in.PriorityScore,
		LastModifiedBy:    in.LastModifiedBy,
		Etag:              incidentEtag(in.ID, in.UpdateTime),
	}
	if in.RedirectIncidentID != "" {
		out.RedirectIncident = incidentName(tenant, in.RedirectIncidentID)
	}
	for _, c := range in.Comments {
		out.Comments = append(out.Comments, &defenderv1.Comment{
			Text:       c.Text,
			Author:     c.Author,
			CreateTime: timestampOrNil(c.CreateTime),
		})
	}
	for i := range in.Alerts {
		out.Alerts = append(out.Alerts, alertToProto(tenant, &in.Alerts[i]))
	}
	return out
}

func alertToProto(tenant string, a *defender.Alert) *defenderv1.Alert {
	out := &defenderv1.Alert{
		Name:              alertName(tenant, a.ID),
		Id:                a.ID,
		Title:             a.Title,
		Description:       a.Description,
		Category:          a.Category,
		ServiceSource:     a.ServiceSource,
		DetectionSource:   a.DetectionSource,
		Status:            toProtoEnum(alertStatuses, a.Status, defenderv1.AlertStatus_ALERT_STATUS_UNKNOWN),
		StatusRaw:         a.StatusRaw,
		Severity:          toProtoEnum(severities, a.Severity, defenderv1.Severity_SEVERITY_UNKNOWN),
		SeverityRaw:       a.SeverityRaw,
		Classification:    toProtoEnum(classifications, a.Classification, defenderv1.Classification_CLASSIFICATION_UNKNOWN),
		ClassificationRaw: a.ClassificationRaw,
		Determination:     toProtoEnum(determinations, a.Determination, defenderv1.Determination_DETERMINATION_UNKNOWN),
		DeterminationRaw:  a.DeterminationRaw,
		AssignedTo:        a.AssignedTo,
		ThreatFamilyName:  a.ThreatFamilyName,
		MitreTechniques:   a.MitreTechniques,
		WebUrl:            a.WebURL,
		CreateTime:        timestampOrNil(a.CreateTime),
		UpdateTime:        timestampOrNil(a.UpdateTime),
		ResolveTime:       timestampOrNil(a.ResolveTime),
		FirstActivityTime: timestampOrNil(a.FirstActivityTime),
		LastActivityTime:  timestampOrNil(a.LastActivityTime),

		IncidentWebUrl:     a.IncidentWebURL,
		DetectorId:         a.DetectorID,
		ProviderAlertId:    a.ProviderAlertID,
		RecommendedActions: a.RecommendedActions,
		SystemTags:         a.SystemTags,
	}
	if a.IncidentID != "" {
		out.Incident = incidentName(tenant, a.IncidentID)
	}
	for _, c := range a.Comments {
		out.Comments = append(out.Comments, &defenderv1.Comment{Text: c.Text, Author: c.Author, CreateTime: timestampOrNil(c.CreateTime)})
	}
	for i := range a.Evidence {
		out.Evidence = append(out.Evidence, evidenceToProto(&a.Evidence[i]))
	}
	for _, d := range a.Devices {
		out.Devices = append(out.Devices, &defenderv1.Device{
			Id:            d.ID,
			AadDeviceId:   d.AADDeviceID,
			DnsName:       d.DNSName,
			OsPlatform:    d.OSPlatform,
			OsBuild:       d.OSBuild,
			HealthStatus:  d.HealthStatus,
			RiskScore:     d.RiskScore,
			RbacGroupName: d.RBACGroupName,
			FirstSeenTime: timestampOrNil(d.FirstSeenTime),
		})
	}
	return out
}

func evidenceToProto(e *defender.Evidence) *defenderv1.Evidence {
	return &defenderv1.Evidence{
		Type:               e.Type,
		TypeRaw:            e.TypeRaw,
		Verdict:            e.Verdict,
		FileName:           e.FileName,
		FilePath:           e.FilePath,
		Sha1:               e.SHA1,
		Sha256:             e.SHA256,
		ProcessId:          e.ProcessID,
		ProcessCommandLine: e.ProcessCommandLine,
		IpAddress:          e.IPAddress,
		Url:                e.URL,
		AccountName:        e.AccountName,
		DomainName:         e.DomainName,
		UserPrincipalName:  e.UserPrincipalName,
		MailboxAddress:     e.MailboxAddress,
		Sender:             e.Sender,
		Recipient:          e.Recipient,
		Subject:            e.Subject,
		RegistryKey:        e.RegistryKey,
		RegistryValue:      e.RegistryValue,
		DeviceId:           e.DeviceID,
		Details:            detailsToStruct(e.Details),
	}
}

// timestampOrNil leaves an unknown (zero) time unset.
func timestampOrNil(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}
