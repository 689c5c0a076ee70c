export { type ReportOptions, renderReport, renderTimelineSvg } from './html.js';
export { type EventRecording, type LoggedEvent, type LoggedValue, type RecordOptions, recordEvents } from './record.js';
export { type ChartSpec, configFor, renderSvg, type Theme, themes } from './render.js';
export { figuresOf, type Limit, seconds, type Timeline, timelineOf } from './timeline.js';
export { type TimelineChartOptions, timelineSpec } from './timeline-spec.js';
