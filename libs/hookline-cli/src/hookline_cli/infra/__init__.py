"""Local infrastructure without Docker: Kafka from Maven Central's jars and a MongoDB-wire server."""
