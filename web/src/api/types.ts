// Names for the generated OpenAPI schemas the app uses (gen/schema.d.ts is
// produced from openapi.json by `npm run gen`; never edit types by hand).
import type { components } from '../../gen/schema';

type S = components['schemas'];
export type DialogView = S['DialogView'];
export type Message = S['Message'];
export type AgentView = S['AgentView'];
export type SendRecord = S['SendRecord'];
export type SendStatus = S['SendStatus'];
export type AccountStatus = S['AccountStatus'];
export type FileRef = S['FileRef'];
export type ProfileView = S['ProfileView'];
export type BatchView = S['BatchView'];
export type Group = S['Group'];
export type Tag = S['Tag'];
export type AuditEntry = S['AuditEntry'];
export type ArchiveView = S['ArchiveView'];
export type ImportReport = S['ImportReport'];
export type AccountView = S['AccountView'];
export type SearchHitView = S['SearchHitView'];
export type SearchResults = S['SearchResults'];
export type JobView = S['JobView'];
export type ImportFormat = S['ImportFormat'];
export type PresignedRequest = S['PresignedRequest'];
