// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title The slot Merkle tree of Cairn's storage layer (src/storage/merkle.ts), verified with the sha256 precompile
/// @notice leaf = sha256(0x00 || bytes), node = sha256(0x01 || left || right), 1024-byte leaves (the last may be
/// shorter, empty data is one empty leaf), an odd last node is carried up unchanged, and a proof lists the siblings
/// bottom-up, skipping the levels where the node was carried.
library SlotMerkle {
    uint256 internal constant LEAF_SIZE = 1024;

    /// @notice Number of leaves of a slot of `size` bytes: max(1, ceil(size / 1024)).
    function leafCount(uint256 size) internal pure returns (uint256) {
        return size == 0 ? 1 : (size + LEAF_SIZE - 1) / LEAF_SIZE;
    }

    /// @notice Byte length of leaf `index` of a slot of `size` bytes (`index` must be below `leafCount(size)`).
    function leafLength(uint256 size, uint256 index) internal pure returns (uint256) {
        uint256 count = leafCount(size);
        return index + 1 < count ? LEAF_SIZE : size - (count - 1) * LEAF_SIZE;
    }

    /// @notice True when `leaf` is leaf `index` of the tree with `count` leaves and root `root`.
    function verify(bytes32 root, uint256 index, uint256 count, bytes calldata leaf, bytes32[] calldata proof)
        internal
        view
        returns (bool)
    {
        if (index >= count) return false;
        bytes32 node = sha256(abi.encodePacked(bytes1(0x00), leaf));
        uint256 used = 0;
        uint256 width = count;
        uint256 i = index;
        while (width > 1) {
            if ((i ^ 1) < width) {
                if (used >= proof.length) return false;
                bytes32 sibling = proof[used];
                unchecked {
                    used++;
                }
                node = (i & 1) == 0 ? _node(node, sibling) : _node(sibling, node);
            }
            i >>= 1;
            width = (width + 1) >> 1;
        }
        return used == proof.length && node == root;
    }

    function _node(bytes32 left, bytes32 right) private view returns (bytes32 h) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore8(p, 0x01)
            mstore(add(p, 1), left)
            mstore(add(p, 33), right)
            if iszero(staticcall(gas(), 0x02, p, 65, 0x00, 0x20)) { revert(0, 0) }
            h := mload(0x00)
        }
    }
}
