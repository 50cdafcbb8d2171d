/* CSPOT's hello-world element: a 255-byte string. */
#define HW_SIZE 255
typedef struct {
	char string[HW_SIZE];
} HW_EL;
