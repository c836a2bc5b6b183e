"""`make deploy-check`: the Kubernetes deployment checked without a cluster (README, "Deploying to
Kubernetes"). Every overlay is rendered by kubectl's own kustomize, every object it renders is
validated strictly against its schema, and hadolint checks the Dockerfile."""
