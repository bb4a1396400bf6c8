import Crypto
import Foundation
import NIOCore
import NIOFileSystem

/// One uploaded file on its way to disk: written with non-blocking file I/O, hashed with SHA-256
/// and sniffed as the bytes pass, limits checked on the bytes actually received. The file is
/// created transactionally: it appears under `MEDIA_ROOT/tmp/` only once complete and accepted,
/// so an upload cut short (or a crash) leaves nothing behind.
final class FileSink {
    let path: String
    let originalName: String
    private let policy: UploadPolicy
    private let handle: ReadWriteFileHandle
    private var hasher = SHA256()
    private(set) var size = 0
    private var head: [UInt8] = []
    private var family: ContentFamily?
    /// Text is only taken as text once its first bytes are known not to be markup.
    private var textConfirmed = false
    private var agreement: FileTypeAgreement
    private var text = TextValidator()
    private var closed = false

    init(path: String, originalName: String, policy: UploadPolicy, agreement: FileTypeAgreement) async throws {
        self.path = path
        self.originalName = originalName
        self.policy = policy
        self.agreement = agreement
        try await MediaStorage.ensureDirectory((path as NSString).deletingLastPathComponent)
        handle = try await FileSystem.shared.openFile(
            forReadingAndWritingAt: FilePath(path),
            options: OpenOptions.Write(existingFile: .none, newFile: .init(permissions: nil, transactionalCreation: true)))
    }

    func write(_ bytes: ByteBuffer) async throws {
        let offset = size
        size += bytes.readableBytes
        if size > policy.maxFileBytes { throw UploadError.tooLarge(policy.maxFileBytes) }
        if let remaining = policy.quotaRemaining, size > remaining { throw UploadError.quotaExceeded }
        bytes.withUnsafeReadableBytes { raw in
            hasher.update(bufferPointer: raw)
            if family == nil || family == .text { text.feed(raw) }
            if head.count < MarkupSniffer.headLength { head.append(contentsOf: raw.prefix(MarkupSniffer.headLength - head.count)) }
        }
        if family == nil, head.count >= ContentFamily.headLength { try decide() }
        // Text is refused at its first bad byte, and markup as soon as its head is known.
        if family == .text {
            guard text.isValid else { throw UploadError.unsupported(policy.families) }
            if !textConfirmed, head.count >= MarkupSniffer.headLength { try confirmText() }
        }
        try await handle.write(contentsOf: bytes, toAbsoluteOffset: Int64(offset))
    }

    private func decide() throws {
        let detected = ContentFamily.detect(head: head) ?? .text
        guard policy.families.contains(detected) else { throw UploadError.unsupported(policy.families) }
        family = detected
        if detected != .text { try agreement.content(detected) }
    }

    private func confirmText() throws {
        textConfirmed = true
        try agreement.content(.text, markup: MarkupSniffer.detect(head))
    }

    /// The file is complete: the last checks, then it materialises under `tmp/`.
    func finish() async throws -> ReceivedFile {
        if family == nil { try decide() }
        if family == .text {
            text.finish()
            guard text.isValid else { throw UploadError.unsupported(policy.families) }
            if !textConfirmed { try confirmText() }
        }
        let ooxml = family == .zip ? try await readOOXMLKind() : nil
        let type = try agreement.finish(ooxml: ooxml)
        try await handle.close(makeChangesVisible: true)
        closed = true
        let nombre = FileName.sanitize(originalName)
        let sha256 = hasher.finalize().map { String(format: "%02x", $0) }.joined()
        return ReceivedFile(tempPath: path, sha256: sha256, size: size, nombre: nombre, tipoMime: type.mimeType)
    }

    /// Office documents are ZIP files: their central directory, at the end, names their parts.
    private func readOOXMLKind() async throws -> OOXMLKind? {
        let tailLength = min(size, 65_557)
        let tail = try await handle.readChunk(fromAbsoluteOffset: Int64(size - tailLength), length: .bytes(Int64(tailLength)))
        guard let directory = OOXMLKind.centralDirectory(tail: Array(tail.readableBytesView), fileSize: size),
              directory.size > 0 else { return nil }
        let entries = try await handle.readChunk(fromAbsoluteOffset: Int64(directory.offset),
                                                 length: .bytes(Int64(min(directory.size, 1 << 20))))
        return OOXMLKind.classify(centralDirectory: Array(entries.readableBytesView))
    }

    /// Closes without materialising: the bytes are gone.
    func discard() async {
        if closed {
            await MediaStorage.remove(path)
        } else {
            closed = true
            try? await handle.close(makeChangesVisible: false)
        }
    }
}
