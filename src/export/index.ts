/** Export a verified image as a machine container (systemd-nspawn, LXC) or a plain root filesystem tarball. */
export { exportImage, EXPORT_FORMATS, SUMS_FILE, SIGNATURE_FILE, PROVENANCE_FILE, type ExportOptions, type ExportReport } from './export-image.js';
export type { ExportFormat } from './export-provenance.js';
