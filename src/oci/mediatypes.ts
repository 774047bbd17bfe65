export const MediaType = {
  imageManifest: 'application/vnd.oci.image.manifest.v1+json',
  imageIndex: 'application/vnd.oci.image.index.v1+json',
  imageConfig: 'application/vnd.oci.image.config.v1+json',
  layerTarGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  layerTar: 'application/vnd.oci.image.layer.v1.tar',
  emptyJson: 'application/vnd.oci.empty.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  /** Artifact types attached to an image through `subject`. */
  simpleSigning: 'application/vnd.imgfactory.simple-signing.v1',
  simpleSigningLayer: 'application/vnd.imgfactory.simple-signing.signature.v1+pgp',
  spdxJson: 'application/spdx+json',
  cyclonedxJson: 'application/vnd.cyclonedx+json',
  dsseEnvelope: 'application/vnd.dsse.envelope.v1+json',
  inTotoProvenance: 'application/vnd.in-toto+json',
} as const;

/** What registries must be told we accept when we GET or HEAD a manifest. */
export const MANIFEST_ACCEPT = [MediaType.imageManifest, MediaType.imageIndex, MediaType.dockerManifest, MediaType.dockerManifestList].join(', ');
