import Fluent
import Vapor

/// `{"id", "mentor", "nombre", "entidad", "fecha_obtencion", "fecha_expiracion", "archivo", "creado"}`;
/// `archivo` is the absolute URL of the certificate's file, or null.
struct CertificadoDTO: Content, Equatable {
    var id: Int
    var mentor: Int
    var nombre: String
    var entidad: String
    var fechaObtencion: String
    @Nullable var fechaExpiracion: String?
    @Nullable var archivo: String?
    var creado: Date
}

/// `/api/mentores/{id}/certificados/`: anyone who may read mentors reads them (and their files);
/// the mentor (or an admin/coordinator) adds and removes them. POST takes JSON, or multipart
/// with an optional `archivo` (PDF, PNG or JPEG by content, ≤ 10 MB), as SPEC §5 describes.
struct CertificadoController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let certificados = routes.grouped("mentores", ":id", "certificados")
        certificados.get(use: list)
        certificados.on(.POST, body: .stream, use: create)
        certificados.get(":cid", use: detail)
        certificados.delete(":cid", use: delete)
        certificados.on(.PUT, ":cid", "archivo", body: .stream, use: putFile)
        certificados.delete(":cid", "archivo", use: deleteFile)
    }

    func bootDownloads(routes: any RoutesBuilder) {
        routes.get("mentores", ":id", "certificados", ":cid", "archivo", use: download)
    }

    static let textFields: Set<String> = ["nombre", "entidad", "fecha_obtencion", "fecha_expiracion"]

    /// Serialises changes to one mentor's certificate files.
    static func lock(_ mentorID: Int) -> String { "certificados:\(mentorID)" }

    @Sendable func list(req: Request) async throws -> Page<CertificadoDTO> {
        try req.authorize(.leer, on: .mentores)
        let mentor = try await MentorController.find(req)
        let query = Certificado.query(on: req.db).filter(\.$mentor.$id == (try mentor.requireID()))
        OrderingFilter.apply(query, request: req, fields: ["fecha_obtencion": "fecha_obtencion", "nombre": "nombre"],
                             fallback: [("fecha_obtencion", .descending)])
        return try await Paginator.paginate(query, request: req, mapPage: { try await Self.dtos($0, req: req) })
    }

    @Sendable func detail(req: Request) async throws -> CertificadoDTO {
        try req.authorize(.leer, on: .mentores)
        return try await Self.dto(find(req), req: req)
    }

    @Sendable func create(req: Request) async throws -> Response {
        let mentor = try await MentorController.find(req)
        let userID = try MentorController.requireEditable(mentor, req: req).requireID()
        let mentorID = try mentor.requireID()
        let settings = req.application.settings
        var input: JSONInput
        var file: ReceivedFile?
        if req.headers.contentType?.type == "multipart" {
            let used = try await BlobStore.usedQuota(of: userID, on: req.db)
            let form = try await MultipartReceiver.receive(req, policy: .certificado(
                settings, quotaRemaining: settings.userQuotaBytes - used, textFields: Self.textFields, fileRequired: false))
            input = form.input(nullable: ["fecha_expiracion"])
            file = form.file
        } else {
            _ = try await req.body.collect(max: settings.maxJSONBodyBytes).get()
            input = try JSONInput.parse(req)
        }
        do {
            let certificado = try Self.read(&input, mentorID: mentorID, req: req)
            guard let file else {
                try await req.writeTransaction { db in
                    try await certificado.create(on: db)
                    try await req.audit(.crear, "certificados", id: certificado.id, despues: try Auditor.snapshot(certificado), on: db)
                }
                return try await Self.dto(certificado, req: req).encodeResponse(status: .created, for: req)
            }
            try await BlobStore.write(req, owners: [Self.lock(mentorID), BlobStore.quotaLock(userID)], blobs: [file.sha256]) { transaction in
                try await transaction.requireQuota(of: userID, adding: file.size, limit: settings.userQuotaBytes)
                try await transaction.adopt(file)
                try await certificado.create(on: transaction.db)
                try await CertificadoArchivo(file: file, certificadoID: certificado.requireID(), subidoPor: userID).create(on: transaction.db)
                try await req.audit(.crear, "certificados", id: certificado.id, despues: try Auditor.snapshot(certificado), on: transaction.db)
            }
            return try await Self.dto(certificado, req: req).encodeResponse(status: .created, for: req)
        } catch {
            await file?.discard()
            throw error
        }
    }

    /// The certificate's fields, validated all at once.
    static func read(_ input: inout JSONInput, mentorID: Int, req: Request) throws -> Certificado {
        let nombre = input.string("nombre", maxLength: 200)
        let entidad = input.string("entidad", maxLength: 200)
        let obtenida = input.date("fecha_obtencion")
        let expira = input.date("fecha_expiracion", required: false, allowNull: true)
        let today = LocalDate.today(in: req.application.settings.timeZone)
        if let obtenida, obtenida > today {
            input.errors.add("fecha_obtencion", "La fecha de obtención no puede ser futura.")
        }
        if let obtenida, let expira, expira < obtenida {
            input.errors.add("fecha_expiracion", "La fecha de expiración no puede ser anterior a la de obtención.")
        }
        try input.finish()
        let certificado = Certificado()
        certificado.$mentor.id = mentorID
        certificado.nombre = nombre ?? ""
        certificado.entidad = entidad ?? ""
        certificado.fechaObtencion = obtenida?.description ?? ""
        certificado.fechaExpiracion = expira?.description
        certificado.creado = Date()
        return certificado
    }

    @Sendable func delete(req: Request) async throws -> HTTPStatus {
        let certificado = try await find(req)
        let mentor = try await MentorController.find(req)
        _ = try MentorController.requireEditable(mentor, req: req)
        let id = try certificado.requireID()
        try await BlobStore.write(req, owners: [Self.lock(try mentor.requireID())], blobs: { db in
            try await Self.fileBlob(of: id, on: db)
        }) { transaction in
            let files = try await CertificadoArchivo.query(on: transaction.db).filter(\.$certificado.$id == id).all()
            try await CertificadoArchivo.query(on: transaction.db).filter(\.$certificado.$id == id).delete()
            try await Certificado.query(on: transaction.db).filter(\.$id == id).delete()
            for file in files { try await transaction.release(file.$blob.id) }
            try await req.audit(.eliminar, "certificados", id: id, antes: try Auditor.snapshot(certificado), on: transaction.db)
        }
        return .noContent
    }

    /// `PUT …/{cid}/archivo/`: adds or replaces the certificate's file.
    @Sendable func putFile(req: Request) async throws -> CertificadoDTO {
        let certificado = try await find(req)
        let mentor = try await MentorController.find(req)
        let userID = try MentorController.requireEditable(mentor, req: req).requireID()
        let id = try certificado.requireID()
        let settings = req.application.settings
        let used = try await BlobStore.usedQuota(of: userID, on: req.db)
        let form = try await MultipartReceiver.receive(req, policy: .certificado(settings, quotaRemaining: settings.userQuotaBytes - used))
        guard let file = form.file else { throw APIError.field("archivo", UploadError.noFile) }
        do {
            try await BlobStore.write(req, owners: [Self.lock(try mentor.requireID()), BlobStore.quotaLock(userID)], blobs: { db in
                [file.sha256] + (try await Self.fileBlob(of: id, on: db))
            }) { transaction in
                guard try await Certificado.find(id, on: transaction.db) != nil else { throw APIError.notFound }
                let previous = try await CertificadoArchivo.query(on: transaction.db).filter(\.$certificado.$id == id).first()
                try await previous?.delete(on: transaction.db)
                try await transaction.requireQuota(of: userID, adding: file.size, limit: settings.userQuotaBytes)
                try await transaction.adopt(file)
                try await CertificadoArchivo(file: file, certificadoID: id, subidoPor: userID).create(on: transaction.db)
                if let previous { try await transaction.release(previous.$blob.id) }
                try await req.audit(.actualizar, "certificados", id: id, antes: ["archivo": .string(previous?.$blob.id ?? "")] as JSONValue,
                                    despues: ["archivo": .string(file.sha256)] as JSONValue, on: transaction.db)
            }
        } catch {
            await file.discard()
            throw error
        }
        return try await Self.dto(certificado, req: req)
    }

    @Sendable func deleteFile(req: Request) async throws -> HTTPStatus {
        let certificado = try await find(req)
        let mentor = try await MentorController.find(req)
        _ = try MentorController.requireEditable(mentor, req: req)
        let id = try certificado.requireID()
        let removed = try await BlobStore.write(req, owners: [Self.lock(try mentor.requireID())], blobs: { db in
            try await Self.fileBlob(of: id, on: db)
        }) { transaction -> Bool in
            guard let file = try await CertificadoArchivo.query(on: transaction.db).filter(\.$certificado.$id == id).first() else {
                return false
            }
            try await file.delete(on: transaction.db)
            try await transaction.release(file.$blob.id)
            try await req.audit(.actualizar, "certificados", id: id, antes: ["archivo": .string(file.$blob.id)] as JSONValue,
                                despues: ["archivo": .null] as JSONValue, on: transaction.db)
            return true
        }
        guard removed else { throw APIError.notFound }
        return .noContent
    }

    @Sendable func download(req: Request) async throws -> Response {
        try req.authorize(.leer, on: .mentores)
        let id = try await find(req).requireID()
        guard let file = try await CertificadoArchivo.query(on: req.db).filter(\.$certificado.$id == id).first() else {
            throw APIError.notFound
        }
        return try await FileDownload.response(
            .init(sha256: file.$blob.id, size: file.tamano, tipoMime: file.tipoMime, nombre: file.nombre), req: req)
    }

    static func fileBlob(of certificadoID: Int, on db: any Database) async throws -> [String] {
        try await CertificadoArchivo.query(on: db).filter(\.$certificado.$id == certificadoID).all().map { $0.$blob.id }
    }

    static func dto(_ certificado: Certificado, req: Request) async throws -> CertificadoDTO {
        guard let dto = try await dtos([certificado], req: req).first else { throw APIError.notFound }
        return dto
    }

    /// A page of certificates, which of them have a file found in one query.
    static func dtos(_ certificados: [Certificado], req: Request) async throws -> [CertificadoDTO] {
        let ids = certificados.compactMap(\.id)
        let withFile = ids.isEmpty ? [] : Set(try await CertificadoArchivo.query(on: req.db).filter(\.$certificado.$id ~~ ids).all()
            .map { $0.$certificado.id })
        let base = AbsoluteURL.base(req)
        return try certificados.map { certificado in
            let id = try certificado.requireID()
            let url = "\(base)/api/mentores/\(certificado.$mentor.id)/certificados/\(id)/archivo/"
            return CertificadoDTO(id: id, mentor: certificado.$mentor.id, nombre: certificado.nombre, entidad: certificado.entidad,
                                  fechaObtencion: certificado.fechaObtencion, fechaExpiracion: certificado.fechaExpiracion,
                                  archivo: withFile.contains(id) ? url : nil, creado: certificado.creado)
        }
    }

    private func find(_ req: Request) async throws -> Certificado {
        let mentor = try await MentorController.find(req)
        guard let id = req.parameters.get("cid", as: Int.self),
              let certificado = try await Certificado.query(on: req.db).filter(\.$id == id)
                .filter(\.$mentor.$id == mentor.requireID()).first() else { throw APIError.notFound }
        return certificado
    }
}

extension CertificadoArchivo {
    convenience init(file: ReceivedFile, certificadoID: Int, subidoPor: Int) {
        self.init()
        self.$certificado.id = certificadoID
        self.$blob.id = file.sha256
        self.nombre = file.nombre
        self.tipoMime = file.tipoMime
        self.tamano = file.size
        self.$subidoPor.id = subidoPor
        self.creado = Date()
    }
}
