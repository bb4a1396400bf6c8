import Fluent
import Vapor

/// `/api/archivos/`: uploaded files. Admins and coordinators see all; a mentor only their own
/// (others' are 404). Uploads stream to disk; downloads sit outside the JSON-only group.
struct ArchivoController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let archivos = routes.grouped("archivos")
        archivos.get(use: list)
        archivos.on(.POST, body: .stream, use: create)
        archivos.get(":id", use: detail)
        archivos.patch(":id", use: patch)
        archivos.delete(":id", use: delete)
    }

    func bootDownloads(routes: any RoutesBuilder) {
        routes.get("archivos", ":id", "descarga", use: download)
    }

    static let ordering: [String: FieldKey] = ["nombre": "nombre", "tamano": "tamano", "creado": "creado"]
    static let maxDescripcion = 1_000

    /// The files the caller may `accion`: all, or their own.
    static func visible(_ req: Request, _ accion: Accion = .leer) throws -> QueryBuilder<Archivo> {
        let user = try req.requireUser()
        let query = Archivo.query(on: req.db)
        if try req.authorize(accion, on: .archivos) == .propio { query.filter(\.$propietario.$id == (try user.requireID())) }
        return query
    }

    static func find(_ req: Request, _ accion: Accion = .leer) async throws -> Archivo {
        guard let id = req.parameters.get("id", as: Int.self),
              let archivo = try await visible(req, accion).filter(\.$id == id).first() else { throw APIError.notFound }
        return archivo
    }

    @Sendable func list(req: Request) async throws -> Page<ArchivoDTO> {
        let query = try Self.visible(req)
        var filters = QueryFilters(req)
        let proyecto = filters.id("proyecto")
        let propietario = filters.id("propietario")
        try filters.finish()
        if let proyecto { query.filter(\.$proyecto.$id == proyecto) }
        if let propietario { query.filter(\.$propietario.$id == propietario) }
        SearchFilter.apply(query, request: req, columns: ["nombre", "descripcion"])
        OrderingFilter.apply(query, request: req, fields: Self.ordering, fallback: [("creado", .descending)])
        return try await Paginator.paginate(query, request: req) { try $0.toDTO(req) }
    }

    @Sendable func detail(req: Request) async throws -> ArchivoDTO {
        try await Self.find(req).toDTO(req)
    }

    @Sendable func create(req: Request) async throws -> Response {
        try req.authorize(.crear, on: .archivos)
        let userID = try req.requireUser().requireID()
        let settings = req.application.settings
        let used = try await BlobStore.usedQuota(of: userID, on: req.db)
        let form = try await MultipartReceiver.receive(req, policy: .archivos(settings, quotaRemaining: settings.userQuotaBytes - used))
        guard let file = form.file else { throw APIError.field("archivo", UploadError.noFile) }
        do {
            var input = form.input(nullable: ["proyecto"])
            let descripcion = input.string("descripcion", required: false, allowBlank: true, maxLength: Self.maxDescripcion)
            let proyecto = try await ArchivoRules.proyecto(&input, req: req)
            try input.finish()
            let archivo = try await BlobStore.write(req, owners: [BlobStore.quotaLock(userID)], blobs: [file.sha256]) { transaction in
                try await transaction.requireQuota(of: userID, adding: file.size, limit: settings.userQuotaBytes)
                try await transaction.adopt(file)
                let archivo = Archivo(file: file, propietarioID: userID, proyectoID: proyecto ?? nil, descripcion: descripcion ?? "")
                try await archivo.create(on: transaction.db)
                try await req.audit(.crear, "archivos", id: archivo.id, despues: try Auditor.snapshot(archivo), on: transaction.db)
                return archivo
            }
            return try await archivo.toDTO(req).encodeResponse(status: .created, for: req)
        } catch {
            await file.discard()
            throw error
        }
    }

    @Sendable func patch(req: Request) async throws -> ArchivoDTO {
        let archivo = try await Self.find(req, .editar)
        var input = try JSONInput.parse(req, partial: true)
        let descripcion = input.string("descripcion", required: false, allowBlank: true, maxLength: Self.maxDescripcion)
        let proyecto = try await ArchivoRules.proyecto(&input, req: req)
        try input.finish()
        let before = try Auditor.snapshot(archivo)
        if let descripcion { archivo.descripcion = descripcion }
        if let proyecto { archivo.$proyecto.id = proyecto }
        try await req.writeTransaction { db in
            try await archivo.save(on: db)
            try await req.audit(.actualizar, "archivos", id: archivo.id, antes: before, despues: try Auditor.snapshot(archivo), on: db)
        }
        return try archivo.toDTO(req)
    }

    @Sendable func delete(req: Request) async throws -> HTTPStatus {
        let archivo = try await Self.find(req, .eliminar)
        let id = try archivo.requireID()
        let sha256 = archivo.$blob.id
        try await BlobStore.write(req, blobs: [sha256]) { transaction in
            try await Archivo.query(on: transaction.db).filter(\.$id == id).delete()
            try await transaction.release(sha256)
            try await req.audit(.eliminar, "archivos", id: id, antes: try Auditor.snapshot(archivo), on: transaction.db)
        }
        return .noContent
    }

    @Sendable func download(req: Request) async throws -> Response {
        let archivo = try await Self.find(req)
        return try await FileDownload.response(
            .init(sha256: archivo.$blob.id, size: archivo.tamano, tipoMime: archivo.tipoMime, nombre: archivo.nombre), req: req)
    }
}

extension Archivo {
    convenience init(file: ReceivedFile, propietarioID: Int, proyectoID: Int?, descripcion: String) {
        self.init()
        self.$blob.id = file.sha256
        self.nombre = file.nombre
        self.tipoMime = file.tipoMime
        self.tamano = file.size
        self.$propietario.id = propietarioID
        self.$proyecto.id = proyectoID
        self.descripcion = descripcion
        self.creado = Date()
    }
}
