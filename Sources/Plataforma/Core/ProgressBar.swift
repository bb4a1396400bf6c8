import Foundation

/// A one-line progress bar on standard error (`[#####-----]  50%  registros 500/1000`).
struct ProgressBar {
    let title: String
    let total: Int
    private var lastPercent = -1
    private let interactive = isatty(STDERR_FILENO) == 1

    init(title: String, total: Int) {
        self.title = title
        self.total = max(total, 1)
    }

    mutating func update(_ done: Int) {
        let percent = min(100, done * 100 / total)
        guard percent != lastPercent else { return }
        lastPercent = percent
        // Without a terminal, print every 10% on its own line instead of redrawing.
        guard interactive || percent % 10 == 0 else { return }
        let filled = percent / 5
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: 20 - filled)
        let line = "[\(bar)] \(String(format: "%3d", percent))%  \(title) \(done)/\(total)"
        FileHandle.standardError.write(Data((interactive ? "\r" + line : line + "\n").utf8))
        if interactive && percent == 100 { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
