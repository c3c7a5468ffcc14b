/**
 * Stable diagnostic codes of `dag validate`. CI scripts and editors may key on them: never rename
 * one; add new codes instead. docs/pipeline-yaml.md lists each with an example.
 */
export const CODES = {
  // The file itself (exit 2: nothing to validate)
  pipelineNotFound: 'pipeline-not-found',
  unreadableFile: 'unreadable-file',
  configLoadFailed: 'config-load-failed',
  // Syntax and shape (from the YAML parser and the JSON Schema)
  yamlSyntax: 'yaml-syntax',
  duplicateKey: 'duplicate-key',
  unknownKey: 'unknown-key',
  wrongType: 'wrong-type',
  missingKey: 'missing-key',
  invalidValue: 'invalid-value',
  unsupportedVersion: 'unsupported-version',
  invalidName: 'invalid-name',
  invalidTable: 'invalid-table',
  invalidColumn: 'invalid-column',
  invalidDate: 'invalid-date',
  invalidDuration: 'invalid-duration',
  invalidOffset: 'invalid-offset',
  invalidLookback: 'invalid-lookback',
  invalidUrl: 'invalid-url',
  invalidCommand: 'invalid-command',
  // Meaning
  unknownTargetType: 'unknown-target-type',
  unknownDefaultTarget: 'unknown-default-target',
  defaultTargetRequired: 'default-target-required',
  unknownCalendar: 'unknown-calendar',
  unknownTimeZone: 'unknown-time-zone',
  duplicateName: 'duplicate-name',
  duplicateTable: 'duplicate-table',
  duplicateUpstream: 'duplicate-upstream',
  unknownUpstream: 'unknown-upstream',
  invalidMapping: 'invalid-mapping',
  minExceedsWindow: 'min-exceeds-window',
  selfDependency: 'self-dependency',
  cycle: 'cycle',
  sqlAndCommand: 'sql-and-command',
  missingSqlOrCommand: 'missing-sql-or-command',
  sqlFileMissing: 'sql-file-missing',
  sqlFileEmpty: 'sql-file-empty',
  unclosedTemplate: 'unclosed-template',
  refNotUpstream: 'ref-not-upstream',
  unknownTemplateVariable: 'unknown-template-variable',
  pathOutsideProject: 'path-outside-project',
  codeFileUnreadable: 'code-file-unreadable',
  webhookCredentials: 'webhook-credentials',
  ledgerSchemaTable: 'ledger-schema-table',
  invalidLabel: 'invalid-label',
  batchSizeTooLarge: 'batch-size-too-large',
  // Warnings
  unusedUpstream: 'unused-upstream',
  unusedSource: 'unused-source',
  selfReadWithoutStart: 'self-read-without-start',
  unknownPlaceholder: 'unknown-placeholder',
  processorCalendar: 'processor-calendar',
  codeGlobEmpty: 'code-glob-empty',
  commandFileOutsideProject: 'command-file-outside-project',
} as const;

export type DiagnosticCode = (typeof CODES)[keyof typeof CODES];
