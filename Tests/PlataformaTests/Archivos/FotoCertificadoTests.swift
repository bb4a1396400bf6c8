import Foundation
import Testing
import Vapor
import VaporTesting
@testable import Plataforma

// Serialized: the suite starts every test at once, and these add many I/O-heavy apps to it.
@Suite("User photos and certificate files", .serialized)
struct FotoCertificadoTests {
    @Test("a mentor puts their own photo; everyone signed in sees it; foto becomes its URL; others may not change it")
    func photos() async throws {
        try await withApp { t in
            let (mentor, token) = try await t.mentorWithToken()
            let userID = try #require(mentor.$usuario.id)
            let (otherMentor, otherToken) = try await t.mentorWithToken("Otro")
            let (_, coordinador) = try await t.userWithToken(.coordinador)
            let (_, admin) = try await t.userWithToken(.admin)
            let path = "/api/usuarios/\(userID)/foto/"
            #expect(try await t.send(.GET, path, token: otherToken).status == .notFound)
            let png = Sample.png(2_000)
            let res = try await t.upload(path, .file(png, filename: "yo.png", field: "foto"), token: token, method: .PUT)
            #expect(res.status == .ok)
            let url = try #require(res.json["foto"].string)
            #expect(url.hasPrefix("http://") && url.hasSuffix(path))
            #expect(try await t.send(.GET, "/api/auth/me/", token: token).json["foto"].string?.hasSuffix(path) == true)
            let seen = try await t.send(.GET, path, token: otherToken)
            #expect(seen.status == .ok)
            #expect(Array(seen.body.readableBytesView) == png)
            #expect(seen.headers.first(name: .contentType) == "image/png")
            #expect(seen.headers.first(name: .contentDisposition)?.hasPrefix("inline; filename=\"foto-\(userID).png\"") == true)
            #expect(try await t.send(.GET, "/api/usuarios/?page_size=100", token: admin).json["results"].array
                .first { $0["id"].int == userID }?["foto"].string?.hasSuffix(path) == true)

            let someoneElse = try await t.upload(path, .file(Sample.png(), field: "foto"), token: otherToken, method: .PUT)
            #expect(someoneElse.status == .forbidden)
            #expect(try await t.upload(path, .file(Sample.png(), field: "foto"), token: coordinador, method: .PUT).status == .forbidden)
            #expect(try await t.send(.DELETE, path, token: otherToken).status == .forbidden)
            let otherPath = "/api/usuarios/\(try #require(otherMentor.$usuario.id))/foto/"
            #expect(try await t.upload(otherPath, .file(Sample.jpeg(), filename: "a.jpg", field: "foto"), token: admin, method: .PUT).status == .ok)
            #expect(try await t.upload("/api/usuarios/999999/foto/", .file(Sample.png(), field: "foto"), token: admin, method: .PUT).status == .notFound)

            // Replacing drops the old bytes; deleting drops the photo.
            let webp = Array("RIFF".utf8) + [20, 0, 0, 0] + Array("WEBPVP8 ".utf8) + [1, 2, 3, 4]
            #expect(try await t.upload(path, .file(webp, filename: "yo.webp", field: "foto"), token: token, method: .PUT).status == .ok)
            #expect(!FileManager.default.fileExists(atPath: try t.app.media.path(for: Sample.sha256(png))))
            #expect(try await t.send(.DELETE, path, token: token).status == .noContent)
            #expect(try await t.send(.GET, path, token: token).status == .notFound)
            #expect(try await t.send(.DELETE, path, token: token).status == .notFound)
            #expect(try await t.send(.GET, "/api/auth/me/", token: token).json["foto"] == nil)
            #expect(t.storedBlobs().count == 1)
        }
    }

    @Test("photos are JPEG, PNG or WebP by content (415 otherwise) and at most 5 MB (413)")
    func photoRules() async throws {
        try await withApp { t in
            let (user, token) = try await t.userWithToken(.coordinador)
            let path = "/api/usuarios/\(try user.requireID())/foto/"
            for (name, bytes) in [("cv.png", Sample.pdf()), ("foto.png", Sample.text()), ("anim.png", Array("GIF89a".utf8) + [0, 0, 0, 0])] {
                let res = try await t.upload(path, .file(bytes, filename: name, field: "foto"), token: token, method: .PUT)
                #expect(res.status == .unsupportedMediaType, "\(name)")
                #expect(res.json["code"] == "unsupported_media_type")
            }
            let big = try await t.upload(path, .file(Sample.png((5 << 20) + 1), filename: "grande.png", field: "foto"), token: token, method: .PUT)
            #expect(big.status == .payloadTooLarge)
            #expect(big.json["code"] == "request_too_large")
            let wrongField = try await t.upload(path, .file(Sample.png()), token: token, method: .PUT)
            #expect(wrongField.json == ["foto": ["No se envió ningún archivo."]])
            #expect(t.tempFiles().isEmpty)
        }
    }

    @Test("certificates: created with a file (multipart) or without (JSON); the file is PUT, downloaded, replaced and removed")
    func certificateFiles() async throws {
        try await withApp { t in
            let (mentor, token) = try await t.mentorWithToken()
            let (_, otherToken) = try await t.mentorWithToken("Otro")
            let base = "/api/mentores/\(try mentor.requireID())/certificados/"
            let pdf = Sample.pdf(4_000)
            let created = try await t.upload(base, .file(pdf, filename: "aws.pdf", fields: [
                ("nombre", "AWS"), ("entidad", "Amazon"), ("fecha_obtencion", "2024-05-01"), ("fecha_expiracion", ""),
            ]), token: token)
            #expect(created.status == .created)
            #expect(created.json.objectKeys == ["id", "mentor", "nombre", "entidad", "fecha_obtencion", "fecha_expiracion", "archivo", "creado"])
            #expect(created.json["fecha_expiracion"] == nil)
            let cid = try #require(created.json["id"].int)
            let file = "\(base)\(cid)/archivo/"
            #expect(created.json["archivo"].string?.hasSuffix(file) == true)
            let download = try await t.send(.GET, file, token: otherToken)
            #expect(download.status == .ok)
            #expect(Array(download.body.readableBytesView) == pdf)
            #expect(download.headers.first(name: .contentDisposition) == "attachment; filename=\"aws.pdf\"; filename*=UTF-8''aws.pdf")
            #expect(download.headers.first(name: .contentType) == "application/pdf")

            let plain = try await t.send(.POST, base, token: token, json: ["nombre": "Scrum", "entidad": "Scrum.org", "fecha_obtencion": "2023-01-10"])
            #expect(plain.status == .created && plain.json["archivo"] == nil)
            let plainID = try #require(plain.json["id"].int)
            let invalid = try await t.upload(base, .file(Sample.pdf(), fields: [("nombre", "X"), ("fecha_obtencion", "2099-01-01")]), token: token)
            #expect(invalid.status == .badRequest)
            #expect(invalid.json.objectKeys == ["entidad", "fecha_obtencion"])
            #expect(try await Certificado.query(on: t.db).count() == 2)

            let png = Sample.png()
            let put = try await t.upload("\(base)\(plainID)/archivo/", .file(png, filename: "scrum.png"), token: token, method: .PUT)
            #expect(put.status == .ok)
            #expect(put.json["archivo"].string?.hasSuffix("\(base)\(plainID)/archivo/") == true)
            #expect(try await t.upload(file, .file(Sample.text(), filename: "a.txt"), token: token, method: .PUT).status == .unsupportedMediaType)
            #expect(try await t.upload(file, .file(png), token: otherToken, method: .PUT).status == .forbidden)
            #expect(try await t.send(.DELETE, file, token: otherToken).status == .forbidden)

            // Replacing the PDF with the PNG: the PDF's bytes go, the PNG's are shared by both.
            #expect(try await t.upload(file, .file(png, filename: "otra.png"), token: token, method: .PUT).status == .ok)
            #expect(t.storedBlobs() == [t.relative(Sample.sha256(png))])
            #expect(try await t.send(.DELETE, "\(base)\(plainID)/archivo/", token: token).status == .noContent)
            #expect(try await t.send(.GET, "\(base)\(plainID)/archivo/", token: token).status == .notFound)
            #expect(try await t.send(.GET, "\(base)\(plainID)/", token: token).json["archivo"] == nil)
            #expect(try await t.send(.DELETE, "\(base)\(cid)/", token: token).status == .noContent)
            #expect(t.storedBlobs().isEmpty && t.tempFiles().isEmpty)
        }
    }

    @Test("limits: photos 5 MB, certificate files 10 MB, files MAX_UPLOAD_MB, and none above MAX_UPLOAD_MB")
    func limits() async throws {
        let settings = try Settings.load(from: ["DATA_DIR": FileManager.default.temporaryDirectory.path, "SECRET_KEY": testSecretKey])
        #expect(UploadPolicy.foto(settings).maxFileBytes == 5 << 20)
        #expect(UploadPolicy.certificado(settings, quotaRemaining: 1).maxFileBytes == 10 << 20)
        #expect(UploadPolicy.archivos(settings, quotaRemaining: 1).maxFileBytes == 25 << 20)
        try await withApp(["MAX_UPLOAD_MB": "1"]) { t in
            let (mentor, token) = try await t.mentorWithToken()
            let res = try await t.upload("/api/mentores/\(try mentor.requireID())/certificados/", .file(Sample.pdf((1 << 20) + 1), fields: [
                ("nombre", "A"), ("entidad", "B"), ("fecha_obtencion", "2024-01-01"),
            ]), token: token)
            #expect(res.status == .payloadTooLarge)
            #expect(try await Certificado.query(on: t.db).count() == 0)
        }
    }

    @Test("deleting a mentor removes their certificates' bytes")
    func mentorDeletion() async throws {
        try await withApp { t in
            let (_, admin) = try await t.userWithToken(.admin)
            let mentor = try await t.makeMentor()
            let base = "/api/mentores/\(try mentor.requireID())/certificados/"
            let res = try await t.upload(base, .file(Sample.pdf(), fields: [("nombre", "A"), ("entidad", "B"), ("fecha_obtencion", "2024-01-01")]),
                                         token: admin)
            #expect(res.status == .created)
            #expect(t.storedBlobs().count == 1)
            #expect(try await t.send(.DELETE, "/api/mentores/\(try mentor.requireID())/", token: admin).status == .noContent)
            #expect(t.storedBlobs().isEmpty)
        }
    }
}
