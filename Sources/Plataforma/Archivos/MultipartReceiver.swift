import Foundation
import NIOCore
import Vapor

/// Reads a `multipart/form-data` body as it arrives (the route registers `body: .stream`): the
/// file streams into `FileSink`, small text fields into memory, anything else is dropped. The
/// byte count is what arrived, never what a header claimed; any failure leaves no file behind.
enum MultipartReceiver {
    /// Room for the multipart framing and the text fields on top of the file.
    static let overheadBytes = 256 << 10
    static let maxTextBytes = 16 << 10
    static let maxHeadersPerPart = 16

    static func receive(_ req: Request, policy: UploadPolicy) async throws -> ReceivedForm {
        let boundary = try boundary(of: req)
        let bodyLimit = policy.maxFileBytes + overheadBytes
        let announced = req.headers.first(name: .contentLength).flatMap { Int($0) }
        // Refuse before reading when the header already says it can't fit.
        if let announced, announced > bodyLimit { throw UploadError.tooLarge(policy.maxFileBytes) }
        if let remaining = policy.quotaRemaining, remaining <= 0 || (announced ?? 0) > remaining + overheadBytes {
            throw UploadError.quotaExceeded
        }
        let reader = FormReader(boundary: boundary, policy: policy, media: req.application.media)
        do {
            var received = 0
            var body = req.body.makeAsyncIterator()
            while let chunk = try await nextChunk(&body) {
                received += chunk.readableBytes
                if received > bodyLimit { throw UploadError.tooLarge(policy.maxFileBytes) }
                try await reader.consume(chunk)
            }
            // A client that goes away mid-body ends the stream early: that is a truncated body.
            if let announced, received != announced { throw UploadError.malformed("el cuerpo está incompleto.") }
            return try await reader.finish()
        } catch {
            await reader.discard()
            throw error
        }
    }

    /// The next piece of the body; the connection failing mid-body (the client went away) is a
    /// truncated upload, not a server error.
    private static func nextChunk(_ body: inout Request.Body.AsyncIterator) async throws -> ByteBuffer? {
        do {
            return try await body.next()
        } catch {
            throw UploadError.malformed("el cuerpo está incompleto.")
        }
    }

    /// The boundary of a `multipart/form-data` request; other media types are 415.
    static func boundary(of req: Request) throws -> String {
        let raw = req.headers.first(name: .contentType) ?? ""
        guard let type = req.headers.contentType, type.type == "multipart", type.subType == "form-data" else {
            throw APIError.unsupportedMediaType(raw)
        }
        guard let boundary = type.parameters["boundary"], (1...70).contains(boundary.count),
              boundary.unicodeScalars.allSatisfy({ $0.isASCII && $0.value >= 0x20 && $0 != "\u{7F}" }) else {
            throw UploadError.malformed("falta el boundary o no es válido.")
        }
        return boundary
    }
}
