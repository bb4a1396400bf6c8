import Fluent
import SQLKit

/// Blobs and the three things that point at them: files, user photos and certificate files.
/// References restrict deleting a blob, so bytes can't lose their row while one still needs them.
struct CreateArchivos: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(Blob.schema)
            .field("sha256", .string, .identifier(auto: false))
            .field("tamano", .int64, .required)
            .field("creado", .datetime, .required)
            .create()
        try await database.schema(Archivo.schema)
            .field(.id, .int, .identifier(auto: true))
            .field("sha256", .string, .required, .references(Blob.schema, "sha256", onDelete: .restrict))
            .field("nombre", .string, .required)
            .field("tipo_mime", .string, .required)
            .field("tamano", .int64, .required)
            .field("propietario_id", .int, .required, .references(Usuario.schema, .id, onDelete: .cascade))
            .field("proyecto_id", .int, .references(Proyecto.schema, .id, onDelete: .setNull))
            .field("descripcion", .string, .required)
            .field("creado", .datetime, .required)
            .create()
        try await database.schema(UsuarioFoto.schema)
            .field(.id, .int, .identifier(auto: true))
            .field("usuario_id", .int, .required, .references(Usuario.schema, .id, onDelete: .cascade))
            .field("sha256", .string, .required, .references(Blob.schema, "sha256", onDelete: .restrict))
            .field("tipo_mime", .string, .required)
            .field("tamano", .int64, .required)
            .field("actualizado", .datetime, .required)
            .unique(on: "usuario_id", name: "usuario_fotos_usuario_key")
            .create()
        try await database.schema(CertificadoArchivo.schema)
            .field(.id, .int, .identifier(auto: true))
            .field("certificado_id", .int, .required, .references(Certificado.schema, .id, onDelete: .cascade))
            .field("sha256", .string, .required, .references(Blob.schema, "sha256", onDelete: .restrict))
            .field("nombre", .string, .required)
            .field("tipo_mime", .string, .required)
            .field("tamano", .int64, .required)
            .field("subido_por", .int, .references(Usuario.schema, .id, onDelete: .setNull))
            .field("creado", .datetime, .required)
            .unique(on: "certificado_id", name: "certificado_archivos_certificado_key")
            .create()
        guard let sql = database as? any SQLDatabase else { return }
        for (name, table, column) in [
            ("archivos_propietario_idx", Archivo.schema, "propietario_id"),
            ("archivos_proyecto_idx", Archivo.schema, "proyecto_id"),
            ("archivos_sha256_idx", Archivo.schema, "sha256"),
            ("usuario_fotos_sha256_idx", UsuarioFoto.schema, "sha256"),
            ("certificado_archivos_sha256_idx", CertificadoArchivo.schema, "sha256"),
            ("certificado_archivos_subido_idx", CertificadoArchivo.schema, "subido_por"),
        ] {
            try await sql.create(index: name).on(table).column(column).run()
        }
    }

    func revert(on database: any Database) async throws {
        for schema in [CertificadoArchivo.schema, UsuarioFoto.schema, Archivo.schema, Blob.schema] {
            try await database.schema(schema).delete()
        }
    }
}
