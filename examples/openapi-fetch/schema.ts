// A hand-written `paths` type for the sample endpoints, in the shape openapi-typescript generates
// (`npx openapi-typescript api.yaml -o schema.ts` would write the same from an OpenAPI document).

export interface Incident {
  id: string;
  trigger_time: string;
  policy: { id: string; name: string; severity: 'critical' | 'high' | 'medium' | 'low' };
  dataset: { id: string; name: string; sensitivity: string };
  resolution_status: 'open' | 'closed';
  user: string;
  hostname: string;
  assignee: string | null;
  event_ids: string[];
}

export interface EventDetails {
  id: string;
  incident_id: string;
  timestamp: string;
  action: { kind: string; blocked: boolean; data_size: number };
}

/** Every error answer: `{ error: { code, message }, request_id }`. */
export interface ApiError {
  error: { code: string; message: string };
  request_id: string;
}

type Errors = { 400: { content: { 'application/json': ApiError } }; 401: { content: { 'application/json': ApiError } } };

export interface paths {
  '/v2/incidents/list': {
    post: {
      requestBody: {
        content: {
          'application/json': {
            filter?: { policy_severities?: string[]; resolution_statuses?: ('open' | 'closed')[]; start_time?: string; end_time?: string };
            page_request?: { size?: number; id?: string; sort_by?: 'trigger_time desc' | 'trigger_time asc' };
          };
        };
      };
      responses: {
        200: {
          content: {
            'application/json': { type: 'incidents'; size: number; resources: Incident[]; page_response: { next_id?: string } };
          };
        };
      } & Errors;
    };
  };
  '/v2/event-details': {
    get: {
      parameters: { query: { ids: string[]; include_content?: boolean } };
      responses: {
        200: {
          content: {
            'application/json': { type: 'events'; size: number; resources: EventDetails[]; errors: { id: string; code: 'not_found' }[] };
          };
        };
      } & Errors;
    };
  };
  '/v2/admin/api-keys': {
    get: {
      responses: {
        200: {
          content: {
            'application/json': {
              type: 'api_keys';
              size: number;
              resources: { id: string; name: string; role: 'admin' | 'read-only'; created_at: string; expires_at: string }[];
            };
          };
        };
        403: { content: { 'application/json': ApiError } };
      } & Errors;
    };
  };
}
